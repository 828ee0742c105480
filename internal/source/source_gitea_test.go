package source

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"code.gitea.io/sdk/gitea"
	"github.com/go-git/go-git/v5/plumbing"
	. "github.com/onsi/gomega"
)

const (
	planA  = "apiVersion: drplan.io/v1alpha1\nkind: DRPlan\nmetadata: {name: a}\n"
	planA2 = "apiVersion: drplan.io/v1alpha1\nkind: DRPlan\nmetadata: {name: a}\nspec: {failover: true}\n"
	planB  = "apiVersion: drplan.io/v1alpha1\nkind: DRPlan\nmetadata: {name: b}\n"
)

func readFile(g Gomega, snap Snapshot, name string) string {
	data, err := fs.ReadFile(snap.FS, name)
	g.Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// The tracked branch's life: clone, unchanged, incremental fetch, restart.
func TestFetchBranch(t *testing.T) {
	gt := sharedGitea(t)
	url, _ := newRepo(t, gt, false)
	p := newPusher(t, gt, url)
	c1 := p.commit(map[string]string{"README.md": "# plans\n", "plans/a.yaml": planA, "plans/team/b.yaml": planB}, "first plans")
	p.push("refs/heads/main:refs/heads/main")
	cache := t.TempDir()
	opts := Options{URL: url, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: cache, Auth: Auth{Token: gt.Token}}
	src, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var first Snapshot

	t.Run("first fetch clones", func(t *testing.T) {
		g := NewWithT(t)
		ctx, log := captureLogs(t.Context())
		snap, changed, err := src.Fetch(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(changed).To(BeTrue())
		g.Expect(snap.Revision).To(Equal(c1.String()))
		g.Expect(snap.Ref).To(Equal("refs/heads/main"))
		g.Expect(snap.Message).To(Equal("first plans"))
		g.Expect(readFile(g, snap, "a.yaml")).To(Equal(planA))
		g.Expect(readFile(g, snap, "team/b.yaml")).To(Equal(planB))
		_, err = fs.Stat(snap.FS, "README.md")
		g.Expect(err).To(MatchError(fs.ErrNotExist))
		g.Expect(log.String()).To(ContainSubstring(`"msg"="clone started"`))
		g.Expect(log.String()).To(MatchRegexp(`"msg"="clone finished" .*"revision"="` + c1.String() + `" "duration"="[^"]+" "bytes"=[1-9]`))
		g.Expect(src.Status().Revision).To(Equal(c1.String()))
		g.Expect(src.Status().Failures).To(BeZero())
		first = snap
	})

	t.Run("unchanged fetch returns the same snapshot without reading", func(t *testing.T) {
		g := NewWithT(t)
		ctx, log := captureLogs(t.Context())
		before := packs(t, src.Dir())
		snap, changed, err := src.Fetch(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(changed).To(BeFalse())
		g.Expect(snap.Revision).To(Equal(c1.String()))
		// The very same in-memory tree: nothing was read from git again.
		g.Expect(snap.FS).To(BeIdenticalTo(first.FS))
		g.Expect(packs(t, src.Dir())).To(Equal(before))
		g.Expect(log.String()).NotTo(ContainSubstring("clone"))
	})

	var c2 plumbing.Hash
	t.Run("a new commit is fetched incrementally", func(t *testing.T) {
		g := NewWithT(t)
		before := packs(t, src.Dir())
		total := 0
		for _, n := range before {
			total += n
		}
		c2 = p.commit(map[string]string{"plans/a.yaml": planA2}, "fail over a")
		p.push("refs/heads/main:refs/heads/main")
		ctx, log := captureLogs(t.Context())
		snap, changed, err := src.Fetch(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(changed).To(BeTrue())
		g.Expect(snap.Revision).To(Equal(c2.String()))
		g.Expect(readFile(g, snap, "a.yaml")).To(Equal(planA2))
		g.Expect(readFile(g, snap, "team/b.yaml")).To(Equal(planB))
		g.Expect(log.String()).NotTo(ContainSubstring("clone"))
		g.Expect(log.String()).To(ContainSubstring(`"msg"="new revision"`))
		// One new pack holding only the new commit, its two trees and the changed blob.
		after := packs(t, src.Dir())
		g.Expect(after).To(HaveLen(len(before) + 1))
		for name, n := range after {
			if _, old := before[name]; !old {
				g.Expect(n).To(Equal(4), "objects in the incremental pack")
			}
		}
		g.Expect(total).To(BeNumerically(">", 4))
		// The first snapshot is untouched.
		g.Expect(readFile(g, first, "a.yaml")).To(Equal(planA))
	})

	t.Run("a restarted source fetches, not clones", func(t *testing.T) {
		g := NewWithT(t)
		again, err := New(opts)
		g.Expect(err).NotTo(HaveOccurred())
		ctx, log := captureLogs(t.Context())
		before := packs(t, again.Dir())
		snap, changed, err := again.Fetch(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(changed).To(BeTrue(), "first snapshot of this process")
		g.Expect(snap.Revision).To(Equal(c2.String()))
		g.Expect(log.String()).NotTo(ContainSubstring("clone"))
		g.Expect(packs(t, again.Dir())).To(Equal(before))
	})

	t.Run("the cache does not store the token", func(t *testing.T) {
		g := NewWithT(t)
		cfg, err := os.ReadFile(filepath.Join(src.Dir(), "config"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(cfg)).To(ContainSubstring(url))
		g.Expect(string(cfg)).NotTo(ContainSubstring(gt.Token))
	})
}

func TestFetchRefs(t *testing.T) {
	gt := sharedGitea(t)
	url, _ := newRepo(t, gt, false)
	p := newPusher(t, gt, url)
	c1 := p.commit(map[string]string{"plans/a.yaml": planA}, "one")
	c2 := p.commit(map[string]string{"plans/a.yaml": planA2, "other/x.yaml": "x: 1\n"}, "two")
	p.tag("v1", c1, "")
	p.tag("v1-annotated", c1, "release v1")
	p.checkout("release", true)
	c3 := p.commit(map[string]string{"plans/b.yaml": planB}, "three, on release only")
	p.push("refs/heads/main:refs/heads/main", "refs/heads/release:refs/heads/release", "refs/tags/*:refs/tags/*")

	cases := []struct {
		name      string
		ref       Ref
		path      string
		wantRev   plumbing.Hash
		wantRef   string
		wantFiles []string
		wantErr   error
	}{
		{name: "branch", ref: Ref{Branch: "main"}, path: "plans", wantRev: c2, wantRef: "refs/heads/main", wantFiles: []string{"a.yaml"}},
		{name: "other branch", ref: Ref{Branch: "release"}, path: "plans", wantRev: c3, wantRef: "refs/heads/release", wantFiles: []string{"a.yaml", "b.yaml"}},
		{name: "lightweight tag", ref: Ref{Tag: "v1"}, path: "plans", wantRev: c1, wantRef: "refs/tags/v1", wantFiles: []string{"a.yaml"}},
		{name: "annotated tag", ref: Ref{Tag: "v1-annotated"}, path: "plans", wantRev: c1, wantRef: "refs/tags/v1-annotated", wantFiles: []string{"a.yaml"}},
		{name: "commit", ref: Ref{Commit: c1.String()}, path: "plans", wantRev: c1, wantRef: c1.String(), wantFiles: []string{"a.yaml"}},
		{name: "commit on a branch", ref: Ref{Branch: "release", Commit: c3.String()}, path: "plans", wantRev: c3, wantRef: c3.String(), wantFiles: []string{"a.yaml", "b.yaml"}},
		{name: "root path", ref: Ref{Branch: "main"}, path: "", wantRev: c2, wantRef: "refs/heads/main", wantFiles: []string{"plans/a.yaml", "other/x.yaml"}},
		{name: "other sub-path", ref: Ref{Branch: "main"}, path: "other", wantRev: c2, wantRef: "refs/heads/main", wantFiles: []string{"x.yaml"}},
		{name: "missing sub-path", ref: Ref{Branch: "main"}, path: "nope", wantErr: ErrPathNotFound},
		{name: "missing branch", ref: Ref{Branch: "nope"}, wantErr: ErrRefNotFound},
		{name: "missing tag", ref: Ref{Tag: "v9"}, wantErr: ErrRefNotFound},
		{name: "missing commit", ref: Ref{Commit: strings.Repeat("ab", 20)}, wantErr: ErrRefNotFound},
		{name: "commit not on the branch", ref: Ref{Branch: "main", Commit: c3.String()}, wantErr: ErrRefNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			src, err := New(Options{URL: url, Ref: tc.ref, Path: tc.path, CacheDir: t.TempDir()})
			g.Expect(err).NotTo(HaveOccurred())
			snap, changed, err := src.Fetch(t.Context())
			if tc.wantErr != nil {
				g.Expect(err).To(MatchError(tc.wantErr))
				g.Expect(snap.IsZero()).To(BeTrue())
				g.Expect(src.Status().Failures).To(Equal(1))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(BeTrue())
			g.Expect(snap.Revision).To(Equal(tc.wantRev.String()))
			g.Expect(snap.Ref).To(Equal(tc.wantRef))
			for _, name := range tc.wantFiles {
				_, err := fs.Stat(snap.FS, name)
				g.Expect(err).NotTo(HaveOccurred(), name)
			}
			again, changed, err := src.Fetch(t.Context())
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(BeFalse())
			g.Expect(again.FS).To(BeIdenticalTo(snap.FS))
		})
	}
}

func TestFetchPullRequestHead(t *testing.T) {
	g := NewWithT(t)
	gt := sharedGitea(t)
	url, name := newRepo(t, gt, false)
	p := newPusher(t, gt, url)
	base := p.commit(map[string]string{"plans/a.yaml": planA}, "base")
	p.push("refs/heads/main:refs/heads/main")
	p.checkout("add-b", true)
	head := p.commit(map[string]string{"plans/b.yaml": planB}, "add plan b")
	p.push("refs/heads/add-b:refs/heads/add-b")
	client, err := gt.Client(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	// Gitea records pushed branches asynchronously: the pull request may have to wait for it.
	var pr *gitea.PullRequest
	g.Eventually(func() (err error) {
		pr, _, err = client.CreatePullRequest(gt.Admin, name, gitea.CreatePullRequestOption{Head: "add-b", Base: "main", Title: "Add plan b"})
		return err
	}).WithTimeout(timeoutPR).Should(Succeed())

	src, err := New(Options{URL: url, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: t.TempDir()})
	g.Expect(err).NotTo(HaveOccurred())
	tracked, _, err := src.Fetch(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tracked.Revision).To(Equal(base.String()))

	ref := "refs/pull/" + itoa(pr.Index) + "/head"
	snap, err := src.FetchRef(t.Context(), ref)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(snap.Revision).To(Equal(head.String()))
	g.Expect(snap.Ref).To(Equal(ref))
	g.Expect(readFile(g, snap, "b.yaml")).To(Equal(planB))

	// The tracked snapshot did not move, and no ref is left behind in the cache.
	again, changed, err := src.Fetch(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
	g.Expect(again.Revision).To(Equal(base.String()))
	_, err = fs.Stat(again.FS, "b.yaml")
	g.Expect(err).To(MatchError(fs.ErrNotExist))
	g.Expect(cacheRefs(t, src.Dir())).To(ConsistOf("refs/remotes/origin/main"))

	// An unchanged head is served from memory; a new head commit is fetched.
	same, err := src.FetchRef(t.Context(), ref)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(same.FS).To(BeIdenticalTo(snap.FS))
	head2 := p.commit(map[string]string{"plans/b.yaml": planB + "spec: {}\n"}, "edit plan b")
	p.push("refs/heads/add-b:refs/heads/add-b")
	g.Eventually(func(g Gomega) {
		next, err := src.FetchRef(t.Context(), ref)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(next.Revision).To(Equal(head2.String()))
	}).WithTimeout(timeoutPR).Should(Succeed())

	_, err = src.FetchRef(t.Context(), "refs/pull/999/head")
	g.Expect(err).To(MatchError(ErrRefNotFound))
	_, err = src.FetchRef(t.Context(), "pull/1/head")
	g.Expect(err).To(MatchError(ContainSubstring("not a full ref name")))
}

// Fetch, FetchRef, Status and snapshot reads may run at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	g := NewWithT(t)
	gt := sharedGitea(t)
	url, _ := newRepo(t, gt, false)
	p := newPusher(t, gt, url)
	p.commit(map[string]string{"plans/a.yaml": planA}, "one")
	p.checkout("feature", true)
	feature := p.commit(map[string]string{"plans/b.yaml": planB}, "feature")
	p.push("refs/heads/main:refs/heads/main", "refs/heads/feature:refs/heads/feature")
	src, err := New(Options{URL: url, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: t.TempDir()})
	g.Expect(err).NotTo(HaveOccurred())

	errs := make(chan error, 40)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			snap, _, err := src.Fetch(t.Context())
			if err == nil {
				_, err = fs.ReadFile(snap.FS, "a.yaml")
			}
			errs <- err
		})
		wg.Go(func() {
			snap, err := src.FetchRef(t.Context(), "refs/heads/feature")
			if err == nil && snap.Revision != feature.String() {
				err = fmt.Errorf("feature at %s, want %s", snap.Revision, feature)
			}
			errs <- err
		})
		wg.Go(func() { _ = src.Status(); errs <- nil })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(src.Status().Failures).To(BeZero())
}

// A cancelled context fails the fetch with context.Canceled and keeps the last good snapshot.
func TestFetchCancelled(t *testing.T) {
	g := NewWithT(t)
	gt := sharedGitea(t)
	url, _ := newRepo(t, gt, false)
	p := newPusher(t, gt, url)
	c1 := p.commit(map[string]string{"plans/a.yaml": planA}, "one")
	p.push("refs/heads/main:refs/heads/main")
	src, err := New(Options{URL: url, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: t.TempDir()})
	g.Expect(err).NotTo(HaveOccurred())
	_, _, err = src.Fetch(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	p.commit(map[string]string{"plans/a.yaml": planA2}, "two")
	p.push("refs/heads/main:refs/heads/main")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	snap, changed, err := src.Fetch(ctx)
	g.Expect(err).To(MatchError(context.Canceled))
	g.Expect(changed).To(BeFalse())
	g.Expect(snap.Revision).To(Equal(c1.String()))
}
