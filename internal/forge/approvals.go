package forge

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Review is one review of a pull request; on GitLab, one approval of a merge request.
type Review struct {
	// User is the reviewer's login (GitLab: username).
	User string `json:"user"`
	// State is the review's verdict.
	State ReviewState `json:"state"`
	// CommitSHA is the pull request's head the review was given on, when the forge says
	// (GitHub, Gitea; GitLab only when it sends approved_at, see gitLab.Reviews).
	CommitSHA string `json:"commitSHA,omitempty"`
	// Stale is true when the forge marks the review outdated by a later push (Gitea's stale).
	Stale bool `json:"stale,omitempty"`
	// SubmittedAt is when the review was given; zero when the forge does not say.
	SubmittedAt time.Time `json:"submittedAt,omitzero"`
}

// ReviewState is a review's verdict.
type ReviewState string

// Review verdicts. A forge's pending (draft) reviews and review requests are not reviews.
const (
	ReviewApproved         ReviewState = "approved"
	ReviewChangesRequested ReviewState = "changes-requested"
	ReviewCommented        ReviewState = "commented"
	// ReviewDismissed is a review a maintainer (or the forge, on a push when the branch's
	// protection says so) dismissed, whatever its verdict was.
	ReviewDismissed ReviewState = "dismissed"
)

// Approvers returns the users whose latest verdict on a pull request is an approval of
// headSHA, each once, sorted. A user's verdicts are their approvals, change requests and
// dismissed reviews, the latest by SubmittedAt (then by order in reviews, oldest first as the
// forges list them): a later change request or dismissal cancels an approval, a comment does
// not. An approval counts only when it is not stale and was given on headSHA; one the forge
// gives no commit for (GitLab without approved_at) counts when it is not stale.
func Approvers(reviews []Review, headSHA string) []string {
	latest := map[string]Review{}
	for _, r := range reviews {
		if r.User == "" || r.State == ReviewCommented {
			continue
		}
		if prev, ok := latest[r.User]; ok && r.SubmittedAt.Before(prev.SubmittedAt) {
			continue
		}
		latest[r.User] = r
	}
	var out []string
	for user, r := range latest {
		if r.State == ReviewApproved && onHead(r, headSHA) {
			out = append(out, user)
		}
	}
	slices.Sort(out)
	return out
}

// onHead reports whether a review was given on headSHA, as far as the forge tells.
func onHead(r Review, headSHA string) bool {
	if r.Stale {
		return false
	}
	return r.CommitSHA == "" || (headSHA != "" && strings.EqualFold(r.CommitSHA, headSHA))
}

// splitTeam splits a team written org/team; both parts are required and the team part has no
// slash.
func splitTeam(kind Kind, team string) (org, name string, err error) {
	org, name, ok := strings.Cut(team, "/")
	if !ok || org == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("list members of %s team %q: not org/team", kind, team)
	}
	return org, name, nil
}

// uniqueSorted sorts logins and drops repeats and empty ones.
func uniqueSorted(logins []string) []string {
	out := slices.DeleteFunc(slices.Clone(logins), func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}
