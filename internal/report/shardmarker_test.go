package report

import "testing"

// Each shard of sharded agents finds its own comment: its marker differs from every other's
// and is no prefix of the unsharded one.
func TestShardMarker(t *testing.T) {
	for _, tc := range []struct{ marker, shard, want string }{
		{Marker, "", Marker},
		{Marker, "eu", "<!-- drplan:pr shard=eu -->"},
		{CommitMarker, "us", "<!-- drplan:commit shard=us -->"},
	} {
		if got := ShardMarker(tc.marker, tc.shard); got != tc.want {
			t.Errorf("ShardMarker(%q, %q) = %q, want %q", tc.marker, tc.shard, got, tc.want)
		}
	}
}
