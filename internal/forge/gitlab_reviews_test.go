package forge

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// withApprovals adds GitLab's approvals and diff versions of merge requests 6 (a recent
// GitLab: approved_at) and 7 (an older one: none), and group ops/sre's members, in the shapes
// docs.gitlab.com/api/merge_request_approvals, /api/merge_requests and /api/members document.
func (f *fakeGitLab) withApprovals() *fakeGitLab {
	user := func(id int, name, state string) map[string]any {
		return map[string]any{"id": id, "username": name, "name": name, "state": state,
			"web_url": "https://gitlab.example/" + name}
	}
	approvals := func(iid int, by ...map[string]any) map[string]any {
		return map[string]any{"id": 5000 + iid, "iid": iid, "project_id": 42, "title": "change", "state": "merged",
			"approved": len(by) > 0, "user_has_approved": false, "user_can_approve": false, "approved_by": by}
	}
	f.mux.HandleFunc("GET "+glPattern+"/merge_requests/{iid}/approvals", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("iid") {
		case "6":
			writeJSON(w, 200, approvals(6,
				map[string]any{"user": user(1, "alice", "active"), "approved_at": "2026-05-01T10:05:00.000Z"},
				map[string]any{"user": user(2, "bob", "active"), "approved_at": "2026-05-01T10:12:00.000Z"},
				map[string]any{"user": user(3, "carol", "active"), "approved_at": "2026-05-01T09:00:00.000Z"},
			))
		case "7":
			writeJSON(w, 200, approvals(7,
				map[string]any{"user": user(1, "alice", "active")},
				map[string]any{"user": user(2, "bob", "active")},
			))
		default:
			writeJSON(w, 404, map[string]any{"message": "404 Not found"})
		}
	})
	f.mux.HandleFunc("GET "+glPattern+"/merge_requests/{iid}/versions", func(w http.ResponseWriter, r *http.Request) {
		version := func(id int, head, at string) map[string]any {
			return map[string]any{"id": id, "head_commit_sha": head, "base_commit_sha": "base0", "start_commit_sha": "base0",
				"created_at": at, "merge_request_id": 5006, "state": "collected", "real_size": "1"}
		}
		// Newest first, as GitLab lists them.
		items := []map[string]any{
			version(103, "head2", "2026-05-01T10:10:00.000Z"),
			version(102, "old1", "2026-05-01T10:00:00.000Z"),
			version(101, "init0", "2026-05-01T09:30:00.000Z"),
		}
		items = pageOf(w, r, items, 2)
		w.Header().Del("Link")
		writeJSON(w, 200, items)
	})
	f.mux.HandleFunc("GET /api/v4/groups/{gid}/members/all", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("gid") != "ops/sre" {
			writeJSON(w, 404, map[string]any{"message": "404 Group Not Found"})
			return
		}
		member := func(id int, name, state string, level int) map[string]any {
			m := user(id, name, state)
			m["access_level"], m["created_at"], m["expires_at"] = level, "2026-01-01T00:00:00.000Z", nil
			return m
		}
		items := pageOf(w, r, []map[string]any{
			member(3, "carol", "active", 30),
			member(1, "alice", "active", 40),
			member(4, "mallory", "blocked", 30),
			// Inherited from ops as well: GitLab lists the member once per source.
			member(1, "alice", "active", 50),
		}, 2)
		w.Header().Del("Link")
		writeJSON(w, 200, items)
	})
	return f
}

func TestGitLabReviews(t *testing.T) {
	t.Parallel()
	at := func(h, m int) time.Time { return time.Date(2026, 5, 1, h, m, 0, 0, time.UTC) }
	cases := []struct {
		name     string
		number   int
		want     []Review
		versions int
		// approvers are Approvers of head2, the merge request's head.
		approvers []string
	}{
		{
			name:   "with approved_at: each approval placed on the head it followed",
			number: 6,
			want: []Review{
				{User: "alice", State: ReviewApproved, CommitSHA: "old1", SubmittedAt: at(10, 5)},
				{User: "bob", State: ReviewApproved, CommitSHA: "head2", SubmittedAt: at(10, 12)},
				{User: "carol", State: ReviewApproved, Stale: true, SubmittedAt: at(9, 0)},
			},
			versions: 2, approvers: []string{"bob"},
		},
		{
			name:   "without approved_at: current approvals, on no known commit",
			number: 7,
			want: []Review{
				{User: "alice", State: ReviewApproved},
				{User: "bob", State: ReviewApproved},
			},
			versions: 0, approvers: []string{"alice", "bob"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			f := newFakeGitLab(t).withApprovals()
			rs, err := f.forge(t).Reviews(t.Context(), tc.number)
			g.Expect(err).NotTo(HaveOccurred())
			for i := range rs {
				// Compare instants, not the location the JSON decoder chose.
				rs[i].SubmittedAt = rs[i].SubmittedAt.UTC()
			}
			g.Expect(rs).To(Equal(tc.want))
			g.Expect(f.count("GET", glPrefix+fmt.Sprintf("/merge_requests/%d/versions", tc.number))).To(Equal(tc.versions))
			g.Expect(Approvers(rs, "head2")).To(Equal(tc.approvers))
		})
	}
}

func TestGitLabReviewsErrors(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitLab(t).withApprovals()
	f.fail("GET", glPrefix+"/merge_requests/6/versions", fault{403, nil, `{"message":"403 Forbidden"}`})
	fg := f.forge(t)
	_, err := fg.Reviews(t.Context(), 6)
	g.Expect(err).To(MatchError(ErrUnauthorized), "approvals that cannot be placed are not returned")
	g.Expect(err.Error()).To(ContainSubstring("list diff versions of gitlab merge request o/r!6"))

	_, err = fg.Reviews(t.Context(), 8)
	g.Expect(err).To(MatchError(ErrNotFound))
	g.Expect(err.Error()).To(ContainSubstring("list approvals of gitlab merge request o/r!8"))
}

func TestGitLabTeamMembers(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitLab(t).withApprovals()
	fg := f.forge(t)
	members, err := fg.TeamMembers(t.Context(), "ops/sre")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(members).To(Equal([]string{"alice", "carol"}), "each once, the blocked user left out")
	g.Expect(f.count("GET", "/api/v4/groups/ops/sre/members/all")).To(Equal(2))

	_, err = fg.TeamMembers(t.Context(), "ops/ghosts")
	g.Expect(err).To(MatchError(ErrNotFound))
	g.Expect(err.Error()).To(ContainSubstring("gitlab group ops/ghosts"))

	_, err = fg.TeamMembers(t.Context(), "/")
	g.Expect(err).To(MatchError(ContainSubstring("no group path")))
}
