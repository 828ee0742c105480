package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

var secret = []byte("s3cret-for-tests")

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signed builds a delivery as each forge signs it.
func signed(forge Forge, event string, body, key []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/git", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	switch forge {
	case Gitea:
		// Gitea sends GitHub's headers too; its own must win.
		r.Header.Set(headerGiteaEvent, event)
		r.Header.Set(headerGitHubEvent, event)
		r.Header.Set(headerGiteaDelivery, "gitea-delivery-1")
		r.Header.Set(headerGiteaSignature, Sign(body, key))
		r.Header.Set(headerGitHubSig256, "sha256="+Sign(body, key))
	case GitHub:
		r.Header.Set(headerGitHubEvent, event)
		r.Header.Set(headerGitHubDelivery, "github-delivery-1")
		r.Header.Set(headerGitHubSig256, "sha256="+Sign(body, key))
	case GitLab:
		r.Header.Set(headerGitLabEvent, event)
		r.Header.Set(headerGitLabDelivery, "gitlab-delivery-1")
		r.Header.Set(headerGitLabToken, string(key))
	}
	return r
}

func newHandler(t *testing.T, opts Options) *Handler {
	t.Helper()
	if opts.Secret == nil {
		opts.Secret = secret
	}
	if opts.OnEvent == nil {
		opts.OnEvent = func(Event) {}
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestParseFixtures(t *testing.T) {
	cases := []struct {
		fixture string
		forge   Forge
		event   string
		want    Event
	}{
		{fixture: "gitea-push.json", forge: Gitea, event: "push", want: Event{Forge: Gitea, Kind: Push, Repo: "platform/plans",
			Ref: "refs/heads/main", Before: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", After: "bb0c3a6c3a7fe3a0e2c4a8b9c7a1bc7f3f0d6a51",
			Delivery: "gitea-delivery-1"}},
		{fixture: "gitea-pull_request.json", forge: Gitea, event: "pull_request", want: Event{Forge: Gitea, Kind: PullRequest, Repo: "platform/plans",
			Ref: "refs/heads/main", After: "4c2f0e0f6e4b5d1a8c3e9f7a2b6d0c1e5f8a9b3d", PRNumber: 3, PRHead: "refs/pull/3/head",
			Action: "synchronized", Delivery: "gitea-delivery-1"}},
		{fixture: "github-push.json", forge: GitHub, event: "push", want: Event{Forge: GitHub, Kind: Push, Repo: "platform/plans",
			Ref: "refs/heads/main", Before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", After: "0000000000000000000000000000000000000000",
			Delivery: "github-delivery-1"}},
		{fixture: "github-pull_request.json", forge: GitHub, event: "pull_request", want: Event{Forge: GitHub, Kind: PullRequest, Repo: "platform/plans",
			Ref: "refs/heads/main", After: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", PRNumber: 2, PRHead: "refs/pull/2/head",
			Action: "opened", Delivery: "github-delivery-1"}},
		{fixture: "github-pull_request-merged.json", forge: GitHub, event: "pull_request", want: Event{Forge: GitHub, Kind: PullRequest, Repo: "platform/plans",
			Ref: "refs/heads/main", After: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", PRNumber: 2, PRHead: "refs/pull/2/head",
			Action: "closed", Merged: true, Delivery: "github-delivery-1"}},
		{fixture: "gitlab-push.json", forge: GitLab, event: "Push Hook", want: Event{Forge: GitLab, Kind: Push, Repo: "platform/plans",
			Ref: "refs/heads/main", Before: "95790bf891e76fee5e1747ab589903a6a1f80f22", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			Delivery: "gitlab-delivery-1"}},
		{fixture: "gitlab-tag_push.json", forge: GitLab, event: "Tag Push Hook", want: Event{Forge: GitLab, Kind: Push, Repo: "platform/plans",
			Ref: "refs/tags/v1.0.0", Before: "0000000000000000000000000000000000000000", After: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
			Delivery: "gitlab-delivery-1"}},
		{fixture: "gitlab-merge_request.json", forge: GitLab, event: "Merge Request Hook", want: Event{Forge: GitLab, Kind: PullRequest, Repo: "platform/plans",
			Ref: "refs/heads/main", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", PRNumber: 5, PRHead: "refs/merge-requests/5/head",
			Action: "update", Delivery: "gitlab-delivery-1"}},
		{fixture: "gitlab-merge_request-merge.json", forge: GitLab, event: "Merge Request Hook", want: Event{Forge: GitLab, Kind: PullRequest, Repo: "platform/plans",
			Ref: "refs/heads/main", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", PRNumber: 5, PRHead: "refs/merge-requests/5/head",
			Action: "merge", Merged: true, Delivery: "gitlab-delivery-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			g := NewWithT(t)
			h := newHandler(t, Options{})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, signed(tc.forge, tc.event, fixture(t, tc.fixture), secret))
			g.Expect(w.Code).To(Equal(http.StatusAccepted), w.Body.String())
			g.Expect(w.Body.String()).To(HavePrefix("queued "))
			e, ok := h.queue.next()
			g.Expect(ok).To(BeTrue())
			g.Expect(e).To(Equal(tc.want))
		})
	}
}

func TestSignatures(t *testing.T) {
	push := fixture(t, "gitea-push.json")
	tampered := bytes.Replace(push, []byte("refs/heads/main"), []byte("refs/heads/evil"), 1)
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{name: "gitea good", req: func() *http.Request { return signed(Gitea, "push", push, secret) }, status: http.StatusAccepted},
		{name: "gitea wrong secret", req: func() *http.Request { return signed(Gitea, "push", push, []byte("other")) }, status: http.StatusUnauthorized},
		{name: "gitea body tampered", req: func() *http.Request {
			r := signed(Gitea, "push", tampered, secret)
			r.Header.Set(headerGiteaSignature, Sign(push, secret))
			return r
		}, status: http.StatusUnauthorized},
		{name: "gitea signature missing, github one present", req: func() *http.Request {
			r := signed(Gitea, "push", push, secret)
			r.Header.Del(headerGiteaSignature)
			return r
		}, status: http.StatusUnauthorized},
		{name: "gitea signature not hex", req: func() *http.Request {
			r := signed(Gitea, "push", push, secret)
			r.Header.Set(headerGiteaSignature, "zz"+Sign(push, secret)[2:])
			return r
		}, status: http.StatusUnauthorized},
		{name: "gitea signature truncated", req: func() *http.Request {
			r := signed(Gitea, "push", push, secret)
			r.Header.Set(headerGiteaSignature, Sign(push, secret)[:32])
			return r
		}, status: http.StatusUnauthorized},
		{name: "github good", req: func() *http.Request { return signed(GitHub, "push", push, secret) }, status: http.StatusAccepted},
		{name: "github wrong secret", req: func() *http.Request { return signed(GitHub, "push", push, []byte("other")) }, status: http.StatusUnauthorized},
		{name: "github without sha256= prefix", req: func() *http.Request {
			r := signed(GitHub, "push", push, secret)
			r.Header.Set(headerGitHubSig256, Sign(push, secret))
			return r
		}, status: http.StatusUnauthorized},
		{name: "github sha1 signature only", req: func() *http.Request {
			r := signed(GitHub, "push", push, secret)
			r.Header.Del(headerGitHubSig256)
			r.Header.Set("X-Hub-Signature", "sha1=0123456789abcdef0123456789abcdef01234567")
			return r
		}, status: http.StatusUnauthorized},
		{name: "gitlab good", req: func() *http.Request { return signed(GitLab, "Push Hook", fixture(t, "gitlab-push.json"), secret) }, status: http.StatusAccepted},
		{name: "gitlab wrong token", req: func() *http.Request {
			return signed(GitLab, "Push Hook", fixture(t, "gitlab-push.json"), []byte("s3cret-for-test"))
		}, status: http.StatusUnauthorized},
		{name: "gitlab token missing", req: func() *http.Request {
			r := signed(GitLab, "Push Hook", fixture(t, "gitlab-push.json"), secret)
			r.Header.Del(headerGitLabToken)
			return r
		}, status: http.StatusUnauthorized},
		{name: "unknown event with a bad signature is still 401", req: func() *http.Request { return signed(GitHub, "issues", push, []byte("other")) }, status: http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := newHandler(t, Options{})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.req())
			g.Expect(w.Code).To(Equal(tc.status), w.Body.String())
			_, queued := h.queue.next()
			g.Expect(queued).To(Equal(tc.status == http.StatusAccepted))
		})
	}
}

func TestRejectsAndIgnores(t *testing.T) {
	big := append([]byte(`{"ref":"refs/heads/main","after":"abc","pad":"`), bytes.Repeat([]byte("x"), 2048)...)
	big = append(big, []byte(`"}`)...)
	form := []byte("payload=" + url.QueryEscape(string(fixture(t, "github-push.json"))))
	cases := []struct {
		name     string
		req      func() *http.Request
		status   int
		body     string
		queued   bool
		maxBytes int64
	}{
		{name: "GET", req: func() *http.Request { return httptest.NewRequest(http.MethodGet, "/hooks/git", nil) }, status: http.StatusMethodNotAllowed},
		{name: "no forge headers", req: func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/hooks/git", strings.NewReader("{}"))
		}, status: http.StatusBadRequest, body: "not a Gitea, GitHub or GitLab delivery"},
		{name: "github ping ignored", req: func() *http.Request { return signed(GitHub, "ping", fixture(t, "github-ping.json"), secret) },
			status: http.StatusAccepted, body: "ignored event ping"},
		{name: "gitea issues ignored", req: func() *http.Request { return signed(Gitea, "issues", fixture(t, "gitea-issues.json"), secret) },
			status: http.StatusAccepted, body: "ignored event issues"},
		{name: "gitlab note ignored", req: func() *http.Request { return signed(GitLab, "Note Hook", []byte(`{}`), secret) },
			status: http.StatusAccepted, body: "ignored event Note Hook"},
		{name: "body over the bound", maxBytes: 1024, req: func() *http.Request { return signed(Gitea, "push", big, secret) },
			status: http.StatusRequestEntityTooLarge},
		{name: "not JSON", req: func() *http.Request { return signed(Gitea, "push", []byte("<xml/>"), secret) }, status: http.StatusBadRequest},
		{name: "push without ref", req: func() *http.Request { return signed(GitHub, "push", []byte(`{"after":"abc"}`), secret) },
			status: http.StatusBadRequest, body: "ref or after missing"},
		{name: "pull request without head", req: func() *http.Request {
			return signed(Gitea, "pull_request", []byte(`{"action":"opened","number":1,"pull_request":{"base":{"ref":"main"}}}`), secret)
		}, status: http.StatusBadRequest, body: "pull_request incomplete"},
		{name: "merge request without iid", req: func() *http.Request {
			return signed(GitLab, "Merge Request Hook", []byte(`{"object_attributes":{"target_branch":"main","last_commit":{"id":"abc"}}}`), secret)
		}, status: http.StatusBadRequest, body: "object_attributes incomplete"},
		{name: "github form-encoded", req: func() *http.Request {
			r := signed(GitHub, "push", form, secret)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, status: http.StatusAccepted, queued: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			h := newHandler(t, Options{MaxBodyBytes: tc.maxBytes})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.req())
			g.Expect(w.Code).To(Equal(tc.status), w.Body.String())
			g.Expect(w.Body.String()).To(ContainSubstring(tc.body))
			_, queued := h.queue.next()
			g.Expect(queued).To(Equal(tc.queued))
		})
	}
}

func TestNewRequiresSecretAndCallback(t *testing.T) {
	g := NewWithT(t)
	_, err := New(Options{OnEvent: func(Event) {}})
	g.Expect(err).To(MatchError(ContainSubstring("secret is required")))
	_, err = New(Options{Secret: secret})
	g.Expect(err).To(MatchError(ContainSubstring("callback is required")))
}

// pushBody is a minimal Gitea push for ref at sha.
func pushBody(ref, sha string) []byte {
	return []byte(`{"ref":"` + ref + `","before":"0000","after":"` + sha + `","repository":{"full_name":"platform/plans"}}`)
}

// ServeHTTP never waits for the callback, and a burst for one ref while the callback is busy
// becomes one delivery of the newest event.
func TestCoalescesWhileCallbackIsBusy(t *testing.T) {
	g := NewWithT(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var got []Event
	h := newHandler(t, Options{MaxPending: 2, OnEvent: func(e Event) {
		mu.Lock()
		got = append(got, e)
		first := len(got) == 1
		mu.Unlock()
		if first {
			<-release
		}
	}})
	done := make(chan struct{})
	go func() { _ = h.Start(t.Context()); close(done) }()

	serve := func(body []byte) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signed(Gitea, "push", body, secret))
		return w.Code
	}
	g.Expect(serve(pushBody("refs/heads/main", "a1"))).To(Equal(http.StatusAccepted))
	g.Eventually(func() int { mu.Lock(); defer mu.Unlock(); return len(got) }).Should(Equal(1))

	// The callback is now blocked; these answer without it and coalesce per ref. Were
	// ServeHTTP to wait for the callback, they would not answer before release.
	codes := make(chan []int, 1)
	go func() {
		var c []int
		for _, sha := range []string{"a2", "a3", "a4"} {
			c = append(c, serve(pushBody("refs/heads/main", sha)))
		}
		c = append(c, serve(pushBody("refs/heads/release", "r1")))
		// MaxPending is 2: a third distinct ref is refused, a known one still coalesces.
		c = append(c, serve(pushBody("refs/heads/other", "o1")))
		c = append(c, serve(pushBody("refs/heads/main", "a5")))
		codes <- c
	}()
	var c []int
	g.Eventually(codes).WithTimeout(30*time.Second).Should(Receive(&c), "ServeHTTP waited for the busy callback")
	g.Expect(c).To(Equal([]int{http.StatusAccepted, http.StatusAccepted, http.StatusAccepted,
		http.StatusAccepted, http.StatusServiceUnavailable, http.StatusAccepted}))

	close(release)
	g.Eventually(func() int { mu.Lock(); defer mu.Unlock(); return len(got) }).Should(Equal(3))
	g.Consistently(func() int { mu.Lock(); defer mu.Unlock(); return len(got) }, 200*time.Millisecond).Should(Equal(3))
	mu.Lock()
	afters := []string{got[0].After, got[1].After, got[2].After}
	mu.Unlock()
	g.Expect(afters).To(Equal([]string{"a1", "a5", "r1"}))
}

func TestStartStopsWithContext(t *testing.T) {
	g := NewWithT(t)
	h := newHandler(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- h.Start(ctx) }()
	cancel()
	g.Eventually(done).Should(Receive(BeNil()))
}

// A delivery sent again, byte for byte with its delivery id (a redelivery, or a captured
// request replayed), is answered and not queued again; the same id with another body is a new
// event only if signed (the signature covers the body).
func TestReplayedDeliveryIgnored(t *testing.T) {
	g := NewWithT(t)
	var mu sync.Mutex
	var got []Event
	h := newHandler(t, Options{OnEvent: func(e Event) { mu.Lock(); got = append(got, e); mu.Unlock() }})
	go func() { _ = h.Start(t.Context()) }()
	serve := func(r *http.Request) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	body := pushBody("refs/heads/main", "b1")
	code, _ := serve(signed(Gitea, "push", body, secret))
	g.Expect(code).To(Equal(http.StatusAccepted))
	g.Eventually(func() int { mu.Lock(); defer mu.Unlock(); return len(got) }).Should(Equal(1))
	code, msg := serve(signed(Gitea, "push", body, secret))
	g.Expect(code).To(Equal(http.StatusAccepted))
	g.Expect(msg).To(ContainSubstring("received already"))
	forged := signed(Gitea, "push", body, secret)
	forged.Body = io.NopCloser(bytes.NewReader(pushBody("refs/heads/main", "evil")))
	code, _ = serve(forged)
	g.Expect(code).To(Equal(http.StatusUnauthorized), "the signature covers the body")
	g.Consistently(func() int { mu.Lock(); defer mu.Unlock(); return len(got) }, 200*time.Millisecond).Should(Equal(1))
}

func TestRecentForgetsOldest(t *testing.T) {
	g := NewWithT(t)
	r := newRecent(2)
	g.Expect(r.add("a")).To(BeTrue())
	g.Expect(r.add("a")).To(BeFalse())
	g.Expect(r.add("b")).To(BeTrue())
	g.Expect(r.add("c")).To(BeTrue())
	g.Expect(r.add("a")).To(BeTrue(), "a was forgotten")
	g.Expect(r.add("c")).To(BeFalse())
}
