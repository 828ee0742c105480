package source

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/drplan/drplan/internal/testenv"
)

// A token, in the URL or in Auth, never shows in an error.
func TestCredentialsNeverInErrors(t *testing.T) {
	gt := sharedGitea(t)
	client, err := gt.Client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	name := "private-plans"
	repo, _, err := client.CreateRepo(gitea.CreateRepoOption{Name: name, Private: true, DefaultBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	p := newPusher(t, gt, repo.CloneURL)
	p.commit(map[string]string{"plans/a.yaml": planA}, "private plans")
	p.push("refs/heads/main:refs/heads/main")
	withUser := func(raw, user, pass string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(user, pass)
		return u.String()
	}
	missing := strings.Replace(repo.CloneURL, "/"+name+".git", "/no-such-repo.git", 1)
	const wrong = "wrong-token-0a1b2c3d4e5f"

	cases := []struct {
		name    string
		url     string
		auth    Auth
		wantErr error
		secrets []string
	}{
		{name: "no token", url: repo.CloneURL, wantErr: ErrAuth},
		{name: "wrong token in auth", url: repo.CloneURL, auth: Auth{Token: wrong}, wantErr: ErrAuth, secrets: []string{wrong}},
		{name: "wrong token in URL", url: withUser(repo.CloneURL, gt.Admin, wrong), wantErr: ErrAuth, secrets: []string{wrong}},
		{name: "token alone as URL user", url: withUser(repo.CloneURL, wrong, ""), wantErr: ErrAuth, secrets: []string{wrong}},
		{name: "good token, missing repository", url: missing, auth: Auth{Token: gt.Token}, wantErr: ErrRepositoryNotFound, secrets: []string{gt.Token}},
		{name: "good token in URL, missing repository", url: withUser(missing, gt.Admin, gt.Token), wantErr: ErrRepositoryNotFound, secrets: []string{gt.Token}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx, log := captureLogs(t.Context())
			src, err := New(Options{URL: tc.url, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: t.TempDir(), Auth: tc.auth})
			g.Expect(err).NotTo(HaveOccurred())
			snap, _, err := src.Fetch(ctx)
			g.Expect(err).To(HaveOccurred())
			g.Expect(snap.IsZero()).To(BeTrue())
			g.Expect(err).To(MatchError(tc.wantErr))
			msg := err.Error()
			g.Expect(msg).To(HavePrefix("fetch " + SanitizeURL(tc.url) + " branch main: "))
			g.Expect(src.Status().LastError.Error()).To(Equal(msg))
			for _, s := range tc.secrets {
				g.Expect(msg).NotTo(ContainSubstring(s))
				g.Expect(log.String()).NotTo(ContainSubstring(s))
			}
			t.Logf("error: %s", msg)
		})
	}

	t.Run("token in URL works and is not stored", func(t *testing.T) {
		g := NewWithT(t)
		src, err := New(Options{URL: withUser(repo.CloneURL, gt.Admin, gt.Token), Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: t.TempDir()})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(src.URL()).To(Equal(repo.CloneURL))
		snap, _, err := src.Fetch(t.Context())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(readFile(g, snap, "a.yaml")).To(Equal(planA))
		cfg, err := os.ReadFile(filepath.Join(src.Dir(), "config"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(cfg)).NotTo(ContainSubstring(gt.Token))
	})
}

// switchProxy forwards to Gitea, or answers 502 like an ingress in front of a dead server.
type switchProxy struct {
	down  atomic.Bool
	proxy *httputil.ReverseProxy
}

func (p *switchProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.down.Load() {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	p.proxy.ServeHTTP(w, r)
}

// While the remote fails, Fetch serves the last good snapshot with the error and counts the
// failures; once the remote answers, the status clears.
func TestFetchKeepsLastGoodWhileRemoteFails(t *testing.T) {
	g := NewWithT(t)
	gt := sharedGitea(t)
	repoURL, _ := newRepo(t, gt, false)
	p := newPusher(t, gt, repoURL)
	c1 := p.commit(map[string]string{"plans/a.yaml": planA}, "one")
	p.push("refs/heads/main:refs/heads/main")

	target, err := url.Parse(gt.URL)
	g.Expect(err).NotTo(HaveOccurred())
	sp := &switchProxy{proxy: httputil.NewSingleHostReverseProxy(target)}
	srv := httptest.NewServer(sp)
	t.Cleanup(srv.Close)
	proxied := srv.URL + strings.TrimPrefix(repoURL, strings.TrimSuffix(gt.URL, "/"))

	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	src, err := New(Options{URL: proxied, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: t.TempDir(),
		Auth: Auth{Token: gt.Token}, Clock: clk})
	g.Expect(err).NotTo(HaveOccurred())
	good, _, err := src.Fetch(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(src.Status()).To(Equal(Status{Revision: c1.String(), LastSuccess: clk.Now()}))

	sp.down.Store(true)
	clk.SetTime(clk.Now().Add(time.Minute))
	failingSince := clk.Now()
	for i := 1; i <= 3; i++ {
		snap, changed, err := src.Fetch(t.Context())
		g.Expect(err).To(MatchError(ContainSubstring("502")))
		g.Expect(err.Error()).NotTo(ContainSubstring(gt.Token))
		g.Expect(changed).To(BeFalse())
		g.Expect(snap.FS).To(BeIdenticalTo(good.FS))
		st := src.Status()
		g.Expect(st.Revision).To(Equal(c1.String()))
		g.Expect(st.Failures).To(Equal(i))
		g.Expect(st.FailingSince).To(Equal(failingSince))
		g.Expect(st.LastSuccess).To(Equal(failingSince.Add(-time.Minute)))
		g.Expect(DefaultBackoff.Delay(st.Failures)).To(Equal(5 * time.Second << (i - 1)))
		clk.SetTime(clk.Now().Add(time.Minute))
	}

	c2 := p.commit(map[string]string{"plans/a.yaml": planA2}, "two")
	p.push("refs/heads/main:refs/heads/main")
	sp.down.Store(false)
	snap, changed, err := src.Fetch(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(snap.Revision).To(Equal(c2.String()))
	g.Expect(src.Status()).To(Equal(Status{Revision: c2.String(), LastSuccess: clk.Now()}))
}

// Gitea itself stopped: the running source keeps its last good snapshot, and a restarted one
// serves the revision left in its cache.
func TestFetchWithGiteaStopped(t *testing.T) {
	g := NewWithT(t)
	gt := testenv.StartTestGitea(t)
	repoURL, _ := newRepo(t, gt, false)
	p := newPusher(t, gt, repoURL)
	c1 := p.commit(map[string]string{"plans/a.yaml": planA}, "one")
	p.push("refs/heads/main:refs/heads/main")
	opts := Options{URL: repoURL, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: t.TempDir(), Auth: Auth{Token: gt.Token}}
	src, err := New(opts)
	g.Expect(err).NotTo(HaveOccurred())
	good, _, err := src.Fetch(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	pinnedOpts := opts
	pinnedOpts.Ref, pinnedOpts.CacheDir = Ref{Commit: c1.String()}, t.TempDir()
	pinned, err := New(pinnedOpts)
	g.Expect(err).NotTo(HaveOccurred())
	_, _, err = pinned.Fetch(t.Context())
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(gt.Stop()).To(Succeed())

	// A pinned commit already in the cache needs no remote at all.
	snap, changed, err := pinned.Fetch(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
	g.Expect(snap.Revision).To(Equal(c1.String()))

	snap, changed, err = src.Fetch(t.Context())
	g.Expect(err).To(MatchError(ContainSubstring("connection refused")))
	g.Expect(err.Error()).To(HavePrefix("fetch " + repoURL + " branch main: "))
	g.Expect(err.Error()).NotTo(ContainSubstring(gt.Token))
	g.Expect(changed).To(BeFalse())
	g.Expect(snap.Revision).To(Equal(c1.String()))
	g.Expect(snap.FS).To(BeIdenticalTo(good.FS))
	g.Expect(src.Status().Failures).To(Equal(1))

	// A restart while Gitea is down: the cache's revision is the last good one.
	restarted, err := New(opts)
	g.Expect(err).NotTo(HaveOccurred())
	ctx, log := captureLogs(t.Context())
	snap, changed, err = restarted.Fetch(ctx)
	g.Expect(err).To(MatchError(ContainSubstring("connection refused")))
	g.Expect(changed).To(BeTrue())
	g.Expect(snap.Revision).To(Equal(c1.String()))
	g.Expect(readFile(g, snap, "a.yaml")).To(Equal(planA))
	g.Expect(log.String()).To(ContainSubstring("using the cached revision while fetches fail"))
	g.Expect(restarted.Status().Revision).To(Equal(c1.String()))
	_, changed, err = restarted.Fetch(ctx)
	g.Expect(err).To(HaveOccurred())
	g.Expect(changed).To(BeFalse())
}
