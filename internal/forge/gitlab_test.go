package forge

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// fakeGitLab answers GitLab's REST API v4 for project o/r (docs.gitlab.com/api), paginating
// with X-Page / X-Next-Page / X-Total-Pages only.
type fakeGitLab struct {
	*fakeAPI
	comments *commentStore
	mu       sync.Mutex
	statuses []map[string]string
	// discussions maps a commit note's id to its discussion id.
	discussions map[int64]string
}

// glPrefix is the decoded path the fake records; glPattern matches the escaped o%2Fr.
const (
	glPrefix  = "/api/v4/projects/o/r"
	glPattern = "/api/v4/projects/{pid}"
)

func glMR(iid int, state, sha, mergeSHA, squashSHA string) map[string]any {
	mr := map[string]any{
		"id": 5000 + iid, "iid": iid, "project_id": 42, "title": fmt.Sprintf("change %d", iid), "state": state,
		"target_branch": "main", "source_branch": fmt.Sprintf("feature-%d", iid), "sha": sha,
		"merge_commit_sha": nil, "squash_commit_sha": nil,
		"web_url": fmt.Sprintf("https://gitlab.example/o/r/-/merge_requests/%d", iid),
	}
	if mergeSHA != "" {
		mr["merge_commit_sha"] = mergeSHA
	}
	if squashSHA != "" {
		mr["squash_commit_sha"] = squashSHA
	}
	return mr
}

// bodyOf reads a request's parameters from its JSON body, or its form or query.
func bodyOf(r *http.Request) map[string]string {
	out := map[string]string{}
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		for k, v := range m {
			out[k] = fmt.Sprint(v)
		}
		return out
	}
	q, _ := url.ParseQuery(string(b))
	for k := range q {
		out[k] = q.Get(k)
	}
	for k := range r.URL.Query() {
		out[k] = r.URL.Query().Get(k)
	}
	return out
}

func newFakeGitLab(t *testing.T) *fakeGitLab {
	f := &fakeGitLab{fakeAPI: newFakeAPI(t, "Private-Token", "tok"), comments: newCommentStore(), discussions: map[int64]string{}}
	page := func(w http.ResponseWriter, r *http.Request, items []map[string]any) {
		items = pageOf(w, r, items, 2)
		w.Header().Del("Link")
		writeJSON(w, 200, items)
	}
	f.mux.HandleFunc("GET "+glPattern+"/merge_requests", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("pid") != "o/r" || !strings.Contains(r.RequestURI, "/o%2Fr/") {
			t.Errorf("project id %q in %s: want o%%2Fr", r.PathValue("pid"), r.RequestURI)
		}
		q := r.URL.Query()
		if q.Get("state") != "opened" || q.Get("target_branch") != "main" {
			t.Errorf("list merge requests: query %s", r.URL.RawQuery)
		}
		page(w, r, []map[string]any{glMR(1, "opened", "sha1", "", ""), glMR(2, "opened", "sha2", "", ""), glMR(3, "opened", "sha3", "", "")})
	})
	f.mux.HandleFunc("GET "+glPattern+"/merge_requests/{iid}/diffs", func(w http.ResponseWriter, r *http.Request) {
		page(w, r, []map[string]any{
			{"old_path": "plans/payments.yaml", "new_path": "plans/payments.yaml", "a_mode": "100644", "b_mode": "100644", "diff": "@@ -1 +1 @@"},
			{"old_path": "old/billing.yaml", "new_path": "plans/billing.yaml", "renamed_file": true, "diff": ""},
			{"old_path": "README.md", "new_path": "README.md", "new_file": true, "diff": "+hi"},
		})
	})
	f.mux.HandleFunc("GET "+glPattern+"/repository/commits/{sha}/merge_requests", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("sha") {
		case "squash9":
			writeJSON(w, 200, []any{glMR(7, "opened", "head7", "", ""), glMR(9, "merged", "head9", "merge9", "squash9")})
		case "ff9":
			// A fast-forward merge: no merge commit, the head became the branch's.
			writeJSON(w, 200, []any{glMR(9, "merged", "ff9", "", "")})
		default:
			writeJSON(w, 200, []any{glMR(7, "opened", "head7", "", "")})
		}
	})
	f.mux.HandleFunc("GET /api/v4/user", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": 1, "username": "drplan-bot", "name": "drplan"})
	})
	note := func(c *fakeComment) map[string]any {
		return map[string]any{"id": c.ID, "body": c.Body, "system": false, "noteable_type": "MergeRequest", //nolint:misspell // GitLab's field name
			"author":     map[string]any{"id": 1, "username": c.Author, "name": c.Author},
			"created_at": c.Created.Format(time.RFC3339)}
	}
	f.mux.HandleFunc("GET "+glPattern+"/merge_requests/{iid}/notes", func(w http.ResponseWriter, r *http.Request) {
		// A system note ("added 1 commit") comes first, as on a real merge request.
		out := []map[string]any{{"id": 1, "body": "added 1 commit", "system": true, "author": map[string]any{"username": "alice"}}}
		for _, c := range f.comments.list("mr" + r.PathValue("iid")) {
			out = append(out, note(c))
		}
		page(w, r, out)
	})
	f.mux.HandleFunc("POST "+glPattern+"/merge_requests/{iid}/notes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 201, note(f.comments.add("mr"+r.PathValue("iid"), "drplan-bot", bodyOf(r)["body"])))
	})
	f.mux.HandleFunc("PUT "+glPattern+"/merge_requests/{iid}/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		c := f.comments.edit(id, bodyOf(r)["body"])
		if c == nil {
			writeJSON(w, 404, map[string]any{"message": "404 Not found"})
			return
		}
		writeJSON(w, 200, note(c))
	})
	f.mux.HandleFunc("DELETE "+glPattern+"/merge_requests/{iid}/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		f.comments.remove(id)
		w.WriteHeader(http.StatusNoContent)
	})
	discussion := func(c *fakeComment) map[string]any {
		return map[string]any{"id": f.discussions[c.ID], "individual_note": true, "notes": []any{note(c)}}
	}
	f.mux.HandleFunc("GET "+glPattern+"/repository/commits/{sha}/discussions", func(w http.ResponseWriter, r *http.Request) {
		var out []map[string]any
		f.mu.Lock()
		for _, c := range f.comments.list("commit" + r.PathValue("sha")) {
			out = append(out, discussion(c))
		}
		f.mu.Unlock()
		page(w, r, out)
	})
	f.mux.HandleFunc("POST "+glPattern+"/repository/commits/{sha}/discussions", func(w http.ResponseWriter, r *http.Request) {
		c := f.comments.add("commit"+r.PathValue("sha"), "drplan-bot", bodyOf(r)["body"])
		f.mu.Lock()
		f.discussions[c.ID] = fmt.Sprintf("d%040d", c.ID)
		d := discussion(c)
		f.mu.Unlock()
		writeJSON(w, 201, d)
	})
	f.mux.HandleFunc("PUT "+glPattern+"/repository/commits/{sha}/discussions/{d}/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		f.mu.Lock()
		ok := f.discussions[id] == r.PathValue("d")
		f.mu.Unlock()
		if !ok {
			writeJSON(w, 404, map[string]any{"message": "404 Discussion Not Found"})
			return
		}
		writeJSON(w, 200, note(f.comments.edit(id, bodyOf(r)["body"])))
	})
	f.mux.HandleFunc("GET "+glPattern+"/repository/commits/{sha}/statuses", func(w http.ResponseWriter, r *http.Request) {
		var out []map[string]any
		f.mu.Lock()
		for i, s := range f.statuses {
			if s["sha"] == r.PathValue("sha") && s["name"] == r.URL.Query().Get("name") {
				out = append(out, map[string]any{"id": i + 1, "sha": s["sha"], "status": s["state"], "name": s["name"],
					"description": s["description"], "target_url": s["target_url"]})
			}
		}
		f.mu.Unlock()
		writeJSON(w, 200, out)
	})
	f.mux.HandleFunc("POST "+glPattern+"/statuses/{sha}", func(w http.ResponseWriter, r *http.Request) {
		in := bodyOf(r)
		in["sha"] = r.PathValue("sha")
		f.mu.Lock()
		defer f.mu.Unlock()
		for i := len(f.statuses) - 1; i >= 0; i-- {
			if s := f.statuses[i]; s["sha"] == in["sha"] && s["name"] == in["name"] {
				if s["state"] == "pending" && in["state"] == "pending" {
					writeJSON(w, 400, map[string]any{"message": "Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via \"enqueue\".)"})
					return
				}
				break
			}
		}
		f.statuses = append(f.statuses, in)
		writeJSON(w, 201, map[string]any{"id": len(f.statuses), "sha": in["sha"], "status": in["state"], "name": in["name"]})
	})
	return f
}

func (f *fakeGitLab) forge(t *testing.T) Forge {
	t.Helper()
	fg, err := New(Options{Kind: KindGitLab, URL: f.srv.URL, Repo: "o/r", Token: "tok", Retry: f.retry()})
	if err != nil {
		t.Fatal(err)
	}
	return fg
}

func TestGitLabReads(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitLab(t)
	fg := f.forge(t)
	ctx := t.Context()

	prs, err := fg.OpenPullRequests(ctx, "main")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(prs).To(HaveLen(3), "three merge requests over two pages, by X-Next-Page")
	g.Expect(f.count("GET", glPrefix+"/merge_requests")).To(Equal(2))
	g.Expect(prs[1]).To(Equal(PullRequest{Number: 2, Title: "change 2", URL: "https://gitlab.example/o/r/-/merge_requests/2",
		Base: "main", HeadSHA: "sha2", HeadRef: "refs/merge-requests/2/head", Branch: "feature-2"}))

	files, err := fg.ChangedFiles(ctx, 2)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).To(Equal([]string{"plans/payments.yaml", "plans/billing.yaml", "old/billing.yaml", "README.md"}))

	for sha, want := range map[string]*PullRequest{
		"squash9": {Number: 9, Title: "change 9", URL: "https://gitlab.example/o/r/-/merge_requests/9", Base: "main",
			HeadSHA: "head9", HeadRef: "refs/merge-requests/9/head", Branch: "feature-9", Merged: true, MergeSHA: "squash9"},
		"ff9": {Number: 9, Title: "change 9", URL: "https://gitlab.example/o/r/-/merge_requests/9", Base: "main",
			HeadSHA: "ff9", HeadRef: "refs/merge-requests/9/head", Branch: "feature-9", Merged: true, MergeSHA: "ff9"},
		"direct": nil,
	} {
		pr, err := fg.PullRequestForCommit(ctx, sha)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr).To(Equal(want), sha)
	}
	g.Expect(fg.MaxCommentLen()).To(Equal(1_000_000))
}

func TestGitLabNotes(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitLab(t)
	f.comments.add("mr4", "alice", "please check the RPO")
	f.comments.add("mr4", "bob", "<!-- drplan:pr -->\nquoted by bob")
	// The first create meets a 503: the GitLab client's request has no GetBody, so the
	// transport must have kept the body to send it again whole.
	f.fail("POST", glPrefix+"/merge_requests/4/notes", fault{503, nil, "down"})
	fg := f.forge(t)
	const marker = "<!-- drplan:pr -->"
	var results []CommentResult
	var ids []int64
	for _, body := range []string{"preview at sha1", "preview at sha2", "preview at sha2"} {
		c, err := fg.UpsertComment(t.Context(), 4, marker, Text(body))
		g.Expect(err).NotTo(HaveOccurred())
		results, ids = append(results, c.Result), append(ids, c.ID)
	}
	g.Expect(results).To(Equal([]CommentResult{CommentCreated, CommentUpdated, CommentUnchanged}))
	g.Expect(ids[1]).To(Equal(ids[0]))
	notes := f.comments.list("mr4")
	g.Expect(notes).To(HaveLen(3))
	g.Expect(notes[2].Body).To(Equal(marker + "\npreview at sha2"))
	g.Expect(notes[1].Body).To(Equal(marker+"\nquoted by bob"), "another user's note is never edited")
	g.Expect(f.count("POST", glPrefix+"/merge_requests/4/notes")).To(Equal(2), "a 503, then the create")
	g.Expect(f.count("PUT", fmt.Sprintf("%s/merge_requests/4/notes/%d", glPrefix, ids[0]))).To(Equal(1))

	// Commit comments are discussions on the commit.
	const cm = "<!-- drplan:commit -->"
	c1, err := fg.CommentOnCommit(t.Context(), "abc", cm, Text("applied"))
	g.Expect(err).NotTo(HaveOccurred())
	c2, err := fg.CommentOnCommit(t.Context(), "abc", cm, Text("applied and failed over"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect([]CommentResult{c1.Result, c2.Result}).To(Equal([]CommentResult{CommentCreated, CommentUpdated}))
	cs := f.comments.list("commitabc")
	g.Expect(cs).To(HaveLen(1))
	g.Expect(cs[0].Body).To(Equal(cm + "\napplied and failed over"))
}

func TestGitLabCommitStatus(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitLab(t)
	fg := f.forge(t)
	ctx := t.Context()
	set := func(state State, desc string) error {
		return fg.SetCommitStatus(ctx, "abc", Status{Context: ValidateContext, State: state, Description: desc, TargetURL: "https://x/1"})
	}
	g.Expect(set(StatePending, "validating")).To(Succeed())
	g.Expect(set(StatePending, "still validating")).To(Succeed(), "GitLab refuses pending twice: not sent")
	g.Expect(set(StateFailure, "2 problems\nin plans/payments.yaml")).To(Succeed())
	g.Expect(set(StateFailure, "2 problems in plans/payments.yaml")).To(Succeed(), "the same status again: not sent")
	g.Expect(set(StateError, "cluster west unreachable")).To(Succeed())
	g.Expect(set(StateSuccess, "valid")).To(Succeed())
	var got [][2]string
	for _, s := range f.statuses {
		g.Expect(s["name"]).To(Equal("drplan/validate"))
		g.Expect(s["target_url"]).To(Equal("https://x/1"))
		got = append(got, [2]string{s["state"], s["description"]})
	}
	g.Expect(got).To(Equal([][2]string{
		{"pending", "validating"},
		{"failed", "2 problems in plans/payments.yaml"},
		{"failed", "cluster west unreachable"},
		{"success", "valid"},
	}))
}

func TestGitLabFaults(t *testing.T) {
	t.Parallel()
	mrs := glPrefix + "/merge_requests"
	reset := func(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }
	cases := []struct {
		name     string
		faults   []fault
		wantErr  error
		requests int
		// firstWait is the first wait between attempts (a honoured Retry-After), when set;
		// maxWaited bounds all the waits together (none when zero).
		firstWait  time.Duration
		maxWaited  time.Duration
		retryAfter time.Duration
	}{
		{
			name: "429 with Retry-After is waited for",
			faults: []fault{{429, map[string]string{"Retry-After": "1", "RateLimit-Limit": "600", "RateLimit-Remaining": "0",
				"RateLimit-Reset": reset(time.Second)}, `{"message":"Retry later"}`}},
			requests: 3, firstWait: time.Second, maxWaited: time.Second,
		},
		{
			name: "429 until a reset past MaxWait: ErrRateLimited at once",
			faults: []fault{{429, map[string]string{"RateLimit-Limit": "600", "RateLimit-Remaining": "0",
				"RateLimit-Reset": reset(10 * time.Minute)}, `{"message":"Retry later"}`}},
			wantErr: ErrRateLimited, requests: 1, retryAfter: 9 * time.Minute,
		},
		{
			name:     "5xx then success",
			faults:   []fault{{500, nil, `{"message":"500 Internal Server Error"}`}, {503, nil, "down"}},
			requests: 4, maxWaited: 2 * fastRetry.MaxDelay,
		},
		{
			name:    "5xx on every attempt",
			faults:  []fault{{502, nil, ""}, {502, nil, ""}, {502, nil, ""}, {502, nil, ""}},
			wantErr: ErrUnavailable, requests: 4, maxWaited: 3 * fastRetry.MaxDelay,
		},
		{
			name:    "403: the token lacks a scope",
			faults:  []fault{{403, nil, `{"error":"insufficient_scope"}`}},
			wantErr: ErrUnauthorized, requests: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			f := newFakeGitLab(t)
			f.fail("GET", mrs, tc.faults...)
			fg := f.forge(t)
			_, err := fg.OpenPullRequests(t.Context(), "main")
			if tc.wantErr == nil {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(tc.wantErr))
			}
			g.Expect(f.count("GET", mrs)).To(Equal(tc.requests))
			waits := f.waited()
			g.Expect(sum(waits)).To(BeNumerically("<=", tc.maxWaited), "waits %v", waits)
			if tc.firstWait > 0 {
				g.Expect(waits).NotTo(BeEmpty())
				g.Expect(waits[0]).To(Equal(tc.firstWait))
			}
			if tc.retryAfter > 0 {
				d, ok := RetryAfter(err)
				g.Expect(ok).To(BeTrue())
				g.Expect(d).To(BeNumerically(">=", tc.retryAfter))
			}
		})
	}
}
