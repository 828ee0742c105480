package forge

import (
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// withReviews adds GitHub's reviews of pull request 5 and team o/sre to the fake, in the shapes
// docs.github.com/rest/pulls/reviews and /rest/teams/members document.
func (f *fakeGitHub) withReviews() *fakeGitHub {
	review := func(id int, login, state, commit, at string) map[string]any {
		r := map[string]any{"id": id, "node_id": "PRR_" + login, "user": map[string]any{"login": login, "id": id, "type": "User"},
			"body": "", "state": state, "commit_id": commit, "author_association": "MEMBER",
			"html_url":         "https://github.example/o/r/pull/5#pullrequestreview-1",
			"pull_request_url": "https://github.example/api/v3/repos/o/r/pulls/5"}
		if at != "" {
			r["submitted_at"] = at
		}
		return r
	}
	reviews := []map[string]any{
		review(1, "alice", "APPROVED", "old1", "2026-05-01T10:00:00Z"),
		review(2, "bob", "CHANGES_REQUESTED", "old1", "2026-05-01T10:01:00Z"),
		review(3, "carol", "APPROVED", "head2", "2026-05-01T10:05:00Z"),
		review(4, "bob", "APPROVED", "head2", "2026-05-01T10:06:00Z"),
		review(5, "dave", "DISMISSED", "head2", "2026-05-01T10:07:00Z"),
		review(6, "erin", "COMMENTED", "head2", "2026-05-01T10:08:00Z"),
		// A draft: GitHub sends no submitted_at.
		review(7, "drplan-bot", "PENDING", "head2", ""),
	}
	f.mux.HandleFunc("GET "+ghPrefix+"/pulls/5/reviews", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, pageOf(w, r, reviews, 2))
	})
	f.mux.HandleFunc("GET /api/v3/orgs/o/teams/{slug}/members", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("slug") != "sre" {
			writeJSON(w, 404, map[string]any{"message": "Not Found",
				"documentation_url": "https://docs.github.com/rest/teams/members#list-team-members", "status": "404"})
			return
		}
		if r.URL.Query().Get("role") != "all" {
			f.t.Errorf("list team members: query %s", r.URL.RawQuery)
		}
		var users []map[string]any
		for i, l := range []string{"carol", "alice", "bob"} {
			users = append(users, map[string]any{"login": l, "id": i + 1, "type": "User", "site_admin": false})
		}
		writeJSON(w, 200, pageOf(w, r, users, 2))
	})
	return f
}

func TestGitHubReviews(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitHub(t).withReviews()
	fg := f.forge(t)
	ctx := t.Context()

	rs, err := fg.Reviews(ctx, 5)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.count("GET", ghPrefix+"/pulls/5/reviews")).To(Equal(4), "seven reviews over four pages")
	g.Expect(rs).To(HaveLen(6), "the draft left out")
	g.Expect(rs[0]).To(Equal(Review{User: "alice", State: ReviewApproved, CommitSHA: "old1",
		SubmittedAt: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}))
	var states []ReviewState
	for _, r := range rs {
		g.Expect(r.Stale).To(BeFalse(), "GitHub marks nothing stale")
		states = append(states, r.State)
	}
	g.Expect(states).To(Equal([]ReviewState{ReviewApproved, ReviewChangesRequested, ReviewApproved, ReviewApproved,
		ReviewDismissed, ReviewCommented}))
	g.Expect(Approvers(rs, "head2")).To(Equal([]string{"bob", "carol"}), "alice approved an older head, dave's was dismissed")

	members, err := fg.TeamMembers(ctx, "o/sre")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(members).To(Equal([]string{"alice", "bob", "carol"}))

	_, err = fg.TeamMembers(ctx, "o/ghosts")
	g.Expect(err).To(MatchError(ErrNotFound))
	g.Expect(err.Error()).To(ContainSubstring("github team o/ghosts"))

	_, err = fg.TeamMembers(ctx, "sre")
	g.Expect(err).To(MatchError(ContainSubstring(`github team "sre": not org/team`)))
}
