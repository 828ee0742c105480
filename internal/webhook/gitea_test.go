package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/testenv"
)

// recorder keeps the events the handler delivers and the status of every delivery.
type recorder struct {
	mu       sync.Mutex
	events   []Event
	statuses map[int]int
}

func (r *recorder) onEvent(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) snapshot() ([]Event, map[int]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := map[int]int{}
	for k, v := range r.statuses {
		st[k] = v
	}
	return append([]Event(nil), r.events...), st
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

// Gitea itself delivers push and pull request webhooks to the handler on loopback.
func TestGiteaDeliversWebhooks(t *testing.T) {
	g := NewWithT(t)
	gt := testenv.StartTestGitea(t)
	client, err := gt.Client(t.Context())
	g.Expect(err).NotTo(HaveOccurred())

	rec := &recorder{statuses: map[int]int{}}
	h, err := New(Options{Secret: secret, OnEvent: rec.onEvent})
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go func() { _ = h.Start(ctx) }()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		rec.mu.Lock()
		rec.statuses[sw.code]++
		rec.mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	hook := func(repo string, key []byte) {
		_, _, err := client.CreateRepoHook(gt.Admin, repo, gitea.CreateHookOption{
			Type:   gitea.HookTypeGitea,
			Config: map[string]string{"url": srv.URL + "/hooks/git", "content_type": "json", "secret": string(key)},
			Events: []string{"push", "pull_request"},
			Active: true,
		})
		g.Expect(err).NotTo(HaveOccurred())
	}
	repo, _, err := client.CreateRepo(gitea.CreateRepoOption{Name: "plans", DefaultBranch: "main"})
	g.Expect(err).NotTo(HaveOccurred())
	hook("plans", secret)
	full := gt.Admin + "/plans"

	dev := newDev(t, repo.CloneURL, gt.Admin, gt.Token)
	c1 := dev.commit("plans/a.yaml", "kind: DRPlan\n")
	dev.push("refs/heads/main:refs/heads/main")
	g.Eventually(func(g Gomega) {
		e, ok := find(rec, Push, c1.String())
		g.Expect(ok).To(BeTrue())
		g.Expect(e.Delivery).NotTo(BeEmpty())
		e.Delivery = ""
		g.Expect(e).To(Equal(Event{Forge: Gitea, Kind: Push, Repo: full, Ref: "refs/heads/main",
			Before: plumbing.ZeroHash.String(), After: c1.String()}))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	dev.checkout("failover")
	head := dev.commit("plans/a.yaml", "kind: DRPlan\nspec: {failover: true}\n")
	dev.push("refs/heads/failover:refs/heads/failover")
	// Gitea records pushed branches asynchronously: the pull request may have to wait for it.
	var pr *gitea.PullRequest
	g.Eventually(func() (err error) {
		pr, _, err = client.CreatePullRequest(gt.Admin, "plans", gitea.CreatePullRequestOption{Head: "failover", Base: "main", Title: "Fail over"})
		return err
	}).WithTimeout(30 * time.Second).Should(Succeed())
	prEvent := func(action, after string) func(Gomega) {
		return func(g Gomega) {
			events, _ := rec.snapshot()
			var found bool
			for _, e := range events {
				if e.Kind == PullRequest && e.Action == action && e.After == after {
					g.Expect(e.Forge).To(Equal(Gitea))
					g.Expect(e.Repo).To(Equal(full))
					g.Expect(e.Ref).To(Equal("refs/heads/main"))
					g.Expect(e.PRNumber).To(Equal(int(pr.Index)))
					g.Expect(e.PRHead).To(Equal("refs/pull/" + itoa(int(pr.Index)) + "/head"))
					g.Expect(e.Delivery).NotTo(BeEmpty())
					found = true
				}
			}
			g.Expect(found).To(BeTrue(), "pull request event %s %s in %+v", action, after, events)
		}
	}
	g.Eventually(prEvent("opened", head.String())).WithTimeout(30 * time.Second).Should(Succeed())

	head2 := dev.commit("plans/b.yaml", "kind: DRPlan\n")
	dev.push("refs/heads/failover:refs/heads/failover")
	g.Eventually(prEvent("synchronized", head2.String())).WithTimeout(30 * time.Second).Should(Succeed())

	// A hook with the wrong secret is refused and delivers nothing.
	other, _, err := client.CreateRepo(gitea.CreateRepoOption{Name: "other", DefaultBranch: "main"})
	g.Expect(err).NotTo(HaveOccurred())
	hook("other", []byte("not-the-secret"))
	_, before := rec.snapshot()
	intruder := newDev(t, other.CloneURL, gt.Admin, gt.Token)
	intruder.commit("plans/x.yaml", "kind: DRPlan\n")
	intruder.push("refs/heads/main:refs/heads/main")
	g.Eventually(func() int { _, st := rec.snapshot(); return st[http.StatusUnauthorized] }).WithTimeout(30 * time.Second).
		Should(BeNumerically(">", before[http.StatusUnauthorized]))
	events, _ := rec.snapshot()
	for _, e := range events {
		g.Expect(e.Repo).To(Equal(full))
	}
}

// find returns the recorded event of kind for commit after.
func find(rec *recorder, kind Kind, after string) (Event, bool) {
	events, _ := rec.snapshot()
	for _, e := range events {
		if e.Kind == kind && e.After == after {
			return e, true
		}
	}
	return Event{}, false
}

type dev struct {
	t    *testing.T
	repo *git.Repository
	wt   *git.Worktree
	auth *githttp.BasicAuth
}

func newDev(t *testing.T, url, user, token string) *dev {
	t.Helper()
	fs := memfs.New()
	repo, err := git.InitWithOptions(memory.NewStorage(), fs, git.InitOptions{DefaultBranch: plumbing.Main})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	return &dev{t: t, repo: repo, wt: wt, auth: &githttp.BasicAuth{Username: user, Password: token}}
}

func (d *dev) commit(name, content string) plumbing.Hash {
	d.t.Helper()
	fs := d.wt.Filesystem
	if err := fs.MkdirAll("plans", 0o755); err != nil {
		d.t.Fatal(err)
	}
	f, err := fs.Create(name)
	if err != nil {
		d.t.Fatal(err)
	}
	_, _ = f.Write([]byte(content))
	_ = f.Close()
	if _, err := d.wt.Add(name); err != nil {
		d.t.Fatal(err)
	}
	sig := &object.Signature{Name: "Dev", Email: "dev@drplan.test", When: time.Now()}
	h, err := d.wt.Commit("edit "+name, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		d.t.Fatal(err)
	}
	return h
}

func (d *dev) checkout(branch string) {
	d.t.Helper()
	if err := d.wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Create: true}); err != nil {
		d.t.Fatal(err)
	}
}

func (d *dev) push(spec string) {
	d.t.Helper()
	err := d.repo.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{config.RefSpec(spec)}, Auth: d.auth})
	if err != nil {
		d.t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
