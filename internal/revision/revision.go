package revision

// ShortLen is the length of an abbreviated revision.
const ShortLen = 12

// Short abbreviates a commit hash to its first ShortLen characters; a shorter revision, the
// empty one included, is returned as it is.
func Short(rev string) string {
	if len(rev) > ShortLen {
		return rev[:ShortLen]
	}
	return rev
}
