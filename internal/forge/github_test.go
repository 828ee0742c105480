package forge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// commentStore keeps comments per thread (a pull request or a commit) for the fakes.
type commentStore struct {
	mu      sync.Mutex
	next    int64
	threads map[string][]*fakeComment
}

type fakeComment struct {
	ID      int64
	Thread  string
	Body    string
	Author  string
	Created time.Time
}

func newCommentStore() *commentStore {
	return &commentStore{next: 100, threads: map[string][]*fakeComment{}}
}

func (s *commentStore) add(thread, author, body string) *fakeComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	c := &fakeComment{ID: s.next, Thread: thread, Body: body, Author: author, Created: time.Date(2026, 5, 1, 10, 0, int(s.next%60), 0, time.UTC)}
	s.threads[thread] = append(s.threads[thread], c)
	return c
}

func (s *commentStore) list(thread string) []*fakeComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*fakeComment(nil), s.threads[thread]...)
}

func (s *commentStore) edit(id int64, body string) *fakeComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cs := range s.threads {
		for _, c := range cs {
			if c.ID == id {
				c.Body = body
				return c
			}
		}
	}
	return nil
}

func (s *commentStore) remove(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, cs := range s.threads {
		for i, c := range cs {
			if c.ID == id {
				s.threads[k] = append(cs[:i:i], cs[i+1:]...)
				return true
			}
		}
	}
	return false
}

// fakeGitHub answers GitHub's REST API for repository o/r under /api/v3 (Enterprise Server's
// prefix), as documented on docs.github.com/rest and recorded in go-github's tests.
type fakeGitHub struct {
	*fakeAPI
	comments *commentStore
	mu       sync.Mutex
	statuses []map[string]string
	// selfStatus, when set, is the answer of GET /user (403 for an App installation token).
	selfStatus int
}

const ghPrefix = "/api/v3/repos/o/r"

func ghPR(n int, base, head, sha string, mergedSHA string) map[string]any {
	pr := map[string]any{
		"id": 1000 + n, "number": n, "state": "open", "title": fmt.Sprintf("change %d", n),
		"html_url":  fmt.Sprintf("https://github.example/o/r/pull/%d", n),
		"head":      map[string]any{"label": "o:" + head, "ref": head, "sha": sha},
		"base":      map[string]any{"label": "o:" + base, "ref": base, "sha": "base000"},
		"merged_at": nil, "merge_commit_sha": nil,
	}
	if mergedSHA != "" {
		pr["state"], pr["merged_at"], pr["merge_commit_sha"] = "closed", "2026-05-01T10:00:00Z", mergedSHA
	}
	return pr
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{fakeAPI: newFakeAPI(t, "Authorization", "Bearer tok"), comments: newCommentStore()}
	prs := []map[string]any{ghPR(1, "main", "a", "sha1", ""), ghPR(2, "main", "b", "sha2", ""), ghPR(3, "main", "c", "sha3", "")}
	f.mux.HandleFunc("GET "+ghPrefix+"/pulls", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("state") != "open" || q.Get("base") != "main" || q.Get("per_page") != "100" {
			t.Errorf("list pulls: query %s", r.URL.RawQuery)
		}
		writeJSON(w, 200, pageOf(w, r, prs, 2))
	})
	f.mux.HandleFunc("GET "+ghPrefix+"/pulls/{n}/files", func(w http.ResponseWriter, r *http.Request) {
		files := []map[string]any{
			{"sha": "f1", "filename": "plans/payments.yaml", "status": "modified", "additions": 2, "deletions": 1, "changes": 3},
			{"sha": "f2", "filename": "plans/billing.yaml", "previous_filename": "old/billing.yaml", "status": "renamed"},
			{"sha": "f3", "filename": "README.md", "status": "added"},
		}
		writeJSON(w, 200, pageOf(w, r, files, 2))
	})
	f.mux.HandleFunc("GET "+ghPrefix+"/commits/{sha}/pulls", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("sha") {
		case "merge9":
			// An open pull request containing the commit, and the merged one that made it.
			writeJSON(w, 200, []any{ghPR(7, "main", "x", "head7", ""), ghPR(9, "main", "y", "head9", "merge9")})
		case "inbranch":
			writeJSON(w, 200, []any{ghPR(9, "main", "y", "inbranch", "merge9")})
		default:
			writeJSON(w, 200, []any{ghPR(7, "main", "x", "head7", "")})
		}
	})
	f.mux.HandleFunc("GET /api/v3/user", func(w http.ResponseWriter, r *http.Request) {
		if f.selfStatus != 0 {
			writeJSON(w, f.selfStatus, map[string]any{"message": "Resource not accessible by integration",
				"documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user"})
			return
		}
		writeJSON(w, 200, map[string]any{"login": "drplan-bot", "id": 1, "type": "User"})
	})
	comment := func(c *fakeComment, kind string) map[string]any {
		return map[string]any{"id": c.ID, "node_id": "IC_" + strconv.FormatInt(c.ID, 10), "body": c.Body,
			"user":       map[string]any{"login": c.Author, "id": 1},
			"html_url":   fmt.Sprintf("https://github.example/o/r/%s#issuecomment-%d", kind, c.ID),
			"created_at": c.Created.Format(time.RFC3339), "updated_at": c.Created.Format(time.RFC3339)}
	}
	listComments := func(thread, kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var out []map[string]any
			for _, c := range f.comments.list(thread + r.PathValue("key")) {
				out = append(out, comment(c, kind))
			}
			writeJSON(w, 200, pageOf(w, r, out, 2))
		}
	}
	createComment := func(thread, kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var in struct{ Body string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			if len([]rune(in.Body)) > gitHubMaxComment {
				writeJSON(w, 422, map[string]any{"message": "Validation Failed", "errors": []any{map[string]any{"message": "body is too long (maximum is 65536 characters)"}}})
				return
			}
			writeJSON(w, 201, comment(f.comments.add(thread+r.PathValue("key"), "drplan-bot", in.Body), kind))
		}
	}
	editComment := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
			var in struct{ Body string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			c := f.comments.edit(id, in.Body)
			if c == nil {
				writeJSON(w, 404, map[string]any{"message": "Not Found"})
				return
			}
			writeJSON(w, 200, comment(c, kind))
		}
	}
	deleteComment := func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if !f.comments.remove(id) {
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	f.mux.HandleFunc("GET "+ghPrefix+"/issues/{key}/comments", listComments("pr", "pull"))
	f.mux.HandleFunc("POST "+ghPrefix+"/issues/{key}/comments", createComment("pr", "pull"))
	f.mux.HandleFunc("PATCH "+ghPrefix+"/issues/comments/{id}", editComment("pull"))
	f.mux.HandleFunc("DELETE "+ghPrefix+"/issues/comments/{id}", deleteComment)
	f.mux.HandleFunc("GET "+ghPrefix+"/commits/{key}/comments", listComments("commit", "commit"))
	f.mux.HandleFunc("POST "+ghPrefix+"/commits/{key}/comments", createComment("commit", "commit"))
	f.mux.HandleFunc("PATCH "+ghPrefix+"/comments/{id}", editComment("commit"))
	f.mux.HandleFunc("DELETE "+ghPrefix+"/comments/{id}", deleteComment)
	f.mux.HandleFunc("POST "+ghPrefix+"/statuses/{sha}", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		in["sha"] = r.PathValue("sha")
		f.mu.Lock()
		f.statuses = append(f.statuses, in)
		f.mu.Unlock()
		writeJSON(w, 201, map[string]any{"id": 1, "state": in["state"], "context": in["context"], "description": in["description"]})
	})
	return f
}

func (f *fakeGitHub) forge(t *testing.T) Forge {
	t.Helper()
	fg, err := New(Options{Kind: KindGitHub, URL: f.srv.URL + "/", Repo: "o/r", Token: "tok", Retry: f.retry()})
	if err != nil {
		t.Fatal(err)
	}
	return fg
}

func TestGitHubReads(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitHub(t)
	fg := f.forge(t)
	ctx := t.Context()

	prs, err := fg.OpenPullRequests(ctx, "main")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(prs).To(HaveLen(3), "three pull requests over two pages")
	g.Expect(f.count("GET", ghPrefix+"/pulls")).To(Equal(2))
	g.Expect(prs[0]).To(Equal(PullRequest{Number: 1, Title: "change 1", URL: "https://github.example/o/r/pull/1",
		Base: "main", HeadSHA: "sha1", HeadRef: "refs/pull/1/head", Branch: "a"}))
	g.Expect(prs[2].HeadRef).To(Equal("refs/pull/3/head"))

	files, err := fg.ChangedFiles(ctx, 1)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).To(Equal([]string{"plans/payments.yaml", "plans/billing.yaml", "old/billing.yaml", "README.md"}))

	pr, err := fg.PullRequestForCommit(ctx, "merge9")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pr).NotTo(BeNil())
	g.Expect(pr.Number).To(Equal(9))
	g.Expect(pr.Merged).To(BeTrue())
	g.Expect(pr.MergeSHA).To(Equal("merge9"))

	pr, err = fg.PullRequestForCommit(ctx, "inbranch")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pr.Number).To(Equal(9), "a commit of a merged branch belongs to that pull request")

	pr, err = fg.PullRequestForCommit(ctx, "direct")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pr).To(BeNil(), "only an open pull request holds the commit: it was pushed without one")
	g.Expect(fg.MaxCommentLen()).To(Equal(65536))
}

func TestGitHubUpsertComment(t *testing.T) {
	t.Parallel()
	const marker = "<!-- drplan:pr -->"
	cases := []struct {
		name string
		// before are the comments on pull request 5, author and body.
		before [][2]string
		// selfStatus is GET /user's status; 0 answers the bot's login.
		selfStatus int
		// want are the comments on pull request 5 after two upserts.
		want [][2]string
		// results of the two upserts.
		results []CommentResult
		creates int
	}{
		{
			name:    "no comment yet: created, then edited in place",
			before:  [][2]string{{"alice", "looks good"}, {"bob", "+1"}, {"carol", "hm"}},
			want:    [][2]string{{"alice", "looks good"}, {"bob", "+1"}, {"carol", "hm"}, {"drplan-bot", marker + "\nsecond (previous: first)"}},
			results: []CommentResult{CommentCreated, CommentUpdated},
			creates: 1,
		},
		{
			name: "a user quoting the marker is left alone",
			before: [][2]string{
				{"mallory", marker + "\nfake"},
				{"drplan-bot", marker + "\nzeroth"},
			},
			want: [][2]string{
				{"mallory", marker + "\nfake"},
				{"drplan-bot", marker + "\nsecond (previous: first)"},
			},
			results: []CommentResult{CommentUpdated, CommentUpdated},
		},
		{
			name: "a duplicate left by a retried create is deleted",
			before: [][2]string{
				{"drplan-bot", marker + "\nzeroth"},
				{"alice", "why two?"},
				{"drplan-bot", marker + "\nzeroth copy"},
			},
			want: [][2]string{
				{"drplan-bot", marker + "\nsecond (previous: first)"},
				{"alice", "why two?"},
			},
			results: []CommentResult{CommentUpdated, CommentUpdated},
		},
		{
			name:       "an App token that cannot read /user matches by marker",
			selfStatus: http.StatusForbidden,
			before:     [][2]string{{"drplan[bot]", marker + "\nzeroth"}},
			want:       [][2]string{{"drplan[bot]", marker + "\nsecond (previous: first)"}},
			results:    []CommentResult{CommentUpdated, CommentUpdated},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			f := newFakeGitHub(t)
			f.selfStatus = tc.selfStatus
			for _, c := range tc.before {
				f.comments.add("pr5", c[0], c[1])
			}
			fg := f.forge(t)
			c1, err := fg.UpsertComment(t.Context(), 5, marker, Text("first"))
			g.Expect(err).NotTo(HaveOccurred())
			c2, err := fg.UpsertComment(t.Context(), 5, marker, func(p string) string {
				lines := strings.Split(p, "\n")
				return "second (previous: " + lines[len(lines)-1] + ")"
			})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect([]CommentResult{c1.Result, c2.Result}).To(Equal(tc.results))
			g.Expect(c2.ID).To(Equal(c1.ID), "the same comment both times")
			g.Expect(c2.URL).To(ContainSubstring("#issuecomment-"))

			var got [][2]string
			for _, c := range f.comments.list("pr5") {
				got = append(got, [2]string{c.Author, c.Body})
			}
			g.Expect(got).To(Equal(tc.want))
			g.Expect(f.count("POST", ghPrefix+"/issues/5/comments")).To(Equal(tc.creates))

			// The same body again writes nothing.
			c3, err := fg.UpsertComment(t.Context(), 5, marker, Text(c2.Body))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(c3.Result).To(Equal(CommentUnchanged))
			g.Expect(f.counts()["PATCH"]).To(Equal(2 - tc.creates))
		})
	}
}

func TestGitHubCommitStatusAndComment(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitHub(t)
	fg := f.forge(t)
	long := "plans/payments.yaml:12:5: spec.schedule.cron: expected 5 fields\nand more " + strings.Repeat("x", 200)
	g.Expect(fg.SetCommitStatus(t.Context(), "abc", Status{Context: ValidateContext, State: StateFailure,
		Description: long, TargetURL: "https://github.example/o/r/pull/1#issuecomment-1"})).To(Succeed())
	g.Expect(f.statuses).To(HaveLen(1))
	st := f.statuses[0]
	g.Expect(st["sha"]).To(Equal("abc"))
	g.Expect(st["state"]).To(Equal("failure"))
	g.Expect(st["context"]).To(Equal("drplan/validate"))
	g.Expect(st["target_url"]).To(Equal("https://github.example/o/r/pull/1#issuecomment-1"))
	g.Expect([]rune(st["description"])).To(HaveLen(140))
	g.Expect(st["description"]).To(HavePrefix("plans/payments.yaml:12:5: spec.schedule.cron: expected 5 fields and more xxx"))
	g.Expect(st["description"]).To(HaveSuffix("…"))

	const marker = "<!-- drplan:commit -->"
	c1, err := fg.CommentOnCommit(t.Context(), "abc", marker, Text("applied"))
	g.Expect(err).NotTo(HaveOccurred())
	c2, err := fg.CommentOnCommit(t.Context(), "abc", marker, Text("applied, then failed over"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c1.Result).To(Equal(CommentCreated))
	g.Expect(c2.Result).To(Equal(CommentUpdated))
	g.Expect(c2.ID).To(Equal(c1.ID))
	cs := f.comments.list("commitabc")
	g.Expect(cs).To(HaveLen(1))
	g.Expect(cs[0].Body).To(Equal(marker + "\napplied, then failed over"))
}

func TestGitHubFaults(t *testing.T) {
	t.Parallel()
	secondary := `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",` +
		`"documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
	pulls := ghPrefix + "/pulls"
	cases := []struct {
		name   string
		method string
		path   string
		faults []fault
		// call makes the request that meets the faults.
		call func(t *testing.T, fg Forge) error
		// timeout bounds the call's context; none when zero.
		timeout  time.Duration
		wantErr  error
		requests int
		// Listing pull requests takes two pages: requests counts both.
		// firstWait is the first wait between attempts (a honoured Retry-After), when set;
		// maxWaited bounds all the waits together (none when zero).
		firstWait  time.Duration
		maxWaited  time.Duration
		retryAfter time.Duration
	}{
		{
			name: "403 secondary rate limit with Retry-After is waited for, then succeeds",
			path: pulls, faults: []fault{{403, map[string]string{"Retry-After": "1"}, secondary}},
			requests: 3, firstWait: time.Second, maxWaited: time.Second,
		},
		{
			name: "403 secondary rate limit asking longer than MaxWait: no wait, ErrRateLimited",
			path: pulls, faults: []fault{{403, map[string]string{"Retry-After": "120"}, secondary}},
			wantErr: ErrRateLimited, requests: 1, retryAfter: 120 * time.Second,
		},
		{
			name: "403 secondary rate limit without Retry-After waits a minute: over MaxWait",
			path: pulls, faults: []fault{{403, nil, secondary}},
			wantErr: ErrRateLimited, requests: 1,
		},
		{
			name: "403 primary rate limit exhausted until the reset",
			path: pulls, faults: []fault{{403, map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
				"X-RateLimit-Used": "5000", "X-RateLimit-Reset": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
				"X-RateLimit-Resource": "core"}, `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`}},
			wantErr: ErrRateLimited, requests: 1, retryAfter: 59 * time.Minute,
		},
		{
			name: "429 with Retry-After is waited for",
			path: pulls, faults: []fault{{429, map[string]string{"Retry-After": "1"}, `{"message":"too many requests"}`}},
			requests: 3, firstWait: time.Second, maxWaited: time.Second,
		},
		{
			name: "5xx twice, then success",
			path: pulls, faults: []fault{{502, nil, "bad gateway"}, {500, nil, `{"message":"Server Error"}`}},
			requests: 4, maxWaited: 2 * fastRetry.MaxDelay,
		},
		{
			name: "5xx on every attempt: ErrUnavailable after MaxAttempts",
			path: pulls, faults: []fault{{503, nil, "x"}, {503, nil, "x"}, {503, nil, "x"}, {503, nil, "x"}, {503, nil, "x"}},
			wantErr: ErrUnavailable, requests: 4, maxWaited: 3 * fastRetry.MaxDelay,
		},
		{
			name: "a 500 on a create is not repeated: the forge may have done it",
			path: ghPrefix + "/statuses/abc", faults: []fault{{500, nil, `{"message":"Server Error"}`}},
			call: func(t *testing.T, fg Forge) error {
				return fg.SetCommitStatus(t.Context(), "abc", Status{Context: ValidateContext, State: StateSuccess})
			},
			wantErr: ErrUnavailable, requests: 1,
		},
		{
			name: "a 503 on a create is repeated: the forge did not take it",
			path: ghPrefix + "/statuses/abc", faults: []fault{{503, nil, "unavailable"}},
			call: func(t *testing.T, fg Forge) error {
				return fg.SetCommitStatus(t.Context(), "abc", Status{Context: ValidateContext, State: StateSuccess})
			},
			requests: 2, maxWaited: fastRetry.MaxDelay,
		},
		{
			name: "a forge down past the caller's deadline: back within it",
			path: pulls, faults: []fault{{503, map[string]string{"Retry-After": "3"}, "x"}, {503, nil, "x"}},
			timeout: 500 * time.Millisecond, wantErr: ErrUnavailable, requests: 1,
		},
		{
			name: "401: the token, not retried",
			path: pulls, faults: []fault{{401, nil, `{"message":"Bad credentials"}`}},
			wantErr: ErrUnauthorized, requests: 1,
		},
		{
			name: "404: not found, not retried",
			path: pulls, faults: []fault{{404, nil, `{"message":"Not Found"}`}},
			wantErr: ErrNotFound, requests: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			f := newFakeGitHub(t)
			method := tc.method
			if method == "" {
				method = "GET"
				if tc.call != nil {
					method = "POST"
				}
			}
			f.fail(method, tc.path, tc.faults...)
			fg := f.forge(t)
			call := tc.call
			if call == nil {
				call = func(t *testing.T, fg Forge) error {
					ctx := t.Context()
					if tc.timeout > 0 {
						var cancel func()
						ctx, cancel = context.WithTimeout(ctx, tc.timeout)
						defer cancel()
					}
					_, err := fg.OpenPullRequests(ctx, "main")
					return err
				}
			}
			err := call(t, fg)
			if tc.wantErr == nil {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(tc.wantErr))
				var ae *APIError
				g.Expect(errors.As(err, &ae)).To(BeTrue())
			}
			g.Expect(f.count(method, tc.path)).To(Equal(tc.requests))
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

// A rate limit go-github knows about is not even sent again before its reset.
func TestGitHubRateLimitRemembered(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitHub(t)
	f.fail("GET", ghPrefix+"/pulls", fault{403, map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
		"X-RateLimit-Reset": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}, `{"message":"API rate limit exceeded"}`})
	fg := f.forge(t)
	_, err := fg.OpenPullRequests(t.Context(), "main")
	g.Expect(err).To(MatchError(ErrRateLimited))
	_, err = fg.OpenPullRequests(t.Context(), "main")
	g.Expect(err).To(MatchError(ErrRateLimited))
	g.Expect(f.count("GET", ghPrefix+"/pulls")).To(Equal(1))
}

// The token goes in the Authorization header only, and appears in no error.
func TestGitHubTokenNotInErrors(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitHub(t)
	f.fail("GET", ghPrefix+"/pulls", fault{422, nil, `{"message":"Validation Failed"}`})
	fg, err := New(Options{Kind: KindGitHub, URL: f.srv.URL, Repo: "o/r", Token: "tok", Retry: fastRetry})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = fg.OpenPullRequests(t.Context(), "main")
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).NotTo(ContainSubstring("tok "))
	g.Expect(err.Error()).To(ContainSubstring("list open pull requests of github o/r into main"))
	g.Expect(Options{Kind: KindGitHub, Repo: "o/r", Token: "s3cret"}.String()).NotTo(ContainSubstring("s3cret"))
	g.Expect(fmt.Sprintf("%+v", Options{Token: "s3cret"})).NotTo(ContainSubstring("s3cret"))
}
