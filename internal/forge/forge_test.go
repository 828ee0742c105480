package forge

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestTouches(t *testing.T) {
	t.Parallel()
	cases := []struct {
		files []string
		dir   string
		want  bool
	}{
		{[]string{"plans/a.yaml"}, "plans", true},
		{[]string{"plans/team/b.yaml"}, "plans/", true},
		{[]string{"plans/team/b.yaml"}, "./plans", true},
		{[]string{"plans"}, "plans", true},
		{[]string{"plansx/a.yaml", "README.md"}, "plans", false},
		{[]string{"docs/plans/a.yaml"}, "plans", false},
		{[]string{"README.md"}, "", true},
		{[]string{"README.md"}, ".", true},
		{nil, "", false},
		{[]string{"deploy/plans/a.yaml"}, "deploy/plans", true},
	}
	for _, tc := range cases {
		g := NewWithT(t)
		g.Expect(Touches(tc.files, tc.dir)).To(Equal(tc.want), "%v in %q", tc.files, tc.dir)
	}
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in    string
		limit int
		want  string
	}{
		{"valid", 140, "valid"},
		{"2 problems:\n  a\r\n  b", 140, "2 problems: a b"},
		{"abcdef", 4, "abc…"},
		{"äöüäöü", 5, "äöüä…"},
		{"abc", 3, "abc"},
	}
	for _, tc := range cases {
		g := NewWithT(t)
		got := oneLine(tc.in, tc.limit)
		g.Expect(got).To(Equal(tc.want))
		g.Expect(len([]rune(got))).To(BeNumerically("<=", tc.limit))
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	in := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	cases := []struct {
		name   string
		header map[string]string
		lo, hi time.Duration
	}{
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second, 7 * time.Second},
		{"HTTP date", map[string]string{"Retry-After": in(90 * time.Second)}, 88 * time.Second, 90 * time.Second},
		{"date in the past", map[string]string{"Retry-After": in(-time.Minute)}, 0, 0},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0, 0},
		{"GitHub reset", map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": unix(30 * time.Second)}, 28 * time.Second, 30 * time.Second},
		{"GitHub reset with calls left is no wait", map[string]string{"X-RateLimit-Remaining": "10", "X-RateLimit-Reset": unix(30 * time.Second)}, 0, 0},
		{"GitLab reset", map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": unix(time.Minute)}, 58 * time.Second, time.Minute},
	}
	for _, tc := range cases {
		g := NewWithT(t)
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		got := waitFromHeaders(h)
		g.Expect(got).To(BeNumerically(">=", tc.lo), tc.name)
		g.Expect(got).To(BeNumerically("<=", tc.hi), tc.name)
	}
}

func unix(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }

func TestBackoff(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	for n, hi := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 60: time.Second} {
		for range 50 {
			d := p.backoff(n)
			g.Expect(d).To(BeNumerically(">=", hi/2), "attempt %d", n)
			g.Expect(d).To(BeNumerically("<=", hi), "attempt %d", n)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"repo without owner", Options{Kind: KindGitHub, Repo: "plans", Token: "t"}, `repo "plans" is not owner/name`},
		{"no token", Options{Kind: KindGitHub, Repo: "o/r"}, "no token"},
		{"gitea without url", Options{Kind: KindGitea, Repo: "o/r", Token: "t"}, "no url"},
		{"unknown kind", Options{Kind: "bitbucket", Repo: "o/r", Token: "t"}, `unknown kind "bitbucket"`},
	}
	for _, tc := range cases {
		g := NewWithT(t)
		_, err := New(tc.o)
		g.Expect(err).To(MatchError(ContainSubstring(tc.want)), tc.name)
	}
	g := NewWithT(t)
	for _, k := range []Kind{KindGitea, KindGitHub, KindGitLab} {
		f, err := New(Options{Kind: k, URL: "https://git.example.com/", Repo: "group/sub/plans", Token: "t"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(f.Kind()).To(Equal(k))
	}
}

// A forge nobody answers for is ErrUnavailable, after the policy's attempts and backoffs.
func TestNoAnswer(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	for _, k := range []Kind{KindGitea, KindGitHub, KindGitLab} {
		var log waitLog
		fg, err := New(Options{Kind: k, URL: url, Repo: "o/r", Token: "tok", Retry: log.retry()})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = fg.OpenPullRequests(t.Context(), "main")
		g.Expect(err).To(MatchError(ErrUnavailable), string(k))
		g.Expect(err.Error()).NotTo(ContainSubstring("tok"))
		// Every attempt but the last is followed by a backoff within the policy.
		waits := log.waited()
		g.Expect(waits).To(HaveLen(fastRetry.MaxAttempts-1), string(k))
		for _, w := range waits {
			g.Expect(w).To(BeNumerically("<=", fastRetry.MaxDelay), string(k))
		}
	}
}

// PathFilter asks for a pull request's files once per head.
func TestPathFilterAsksOncePerHead(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	f := newFakeGitHub(t)
	filter := &PathFilter{Forge: f.forge(t), Dir: "plans"}
	for range 3 {
		prs, err := filter.OpenPullRequests(t.Context(), "main")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(prs).To(HaveLen(3), "every fake pull request changes plans/payments.yaml")
	}
	files := 0
	for _, n := range []string{"1", "2", "3"} {
		files += f.count("GET", ghPrefix+"/pulls/"+n+"/files")
	}
	g.Expect(files).To(Equal(6), "three heads, two pages of files each, asked once")

	other := &PathFilter{Forge: f.forge(t), Dir: "docs"}
	prs, err := other.OpenPullRequests(t.Context(), "main")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(prs).To(BeEmpty())
}
