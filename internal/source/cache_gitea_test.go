package source

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

// A cache that cannot be read is removed and cloned again, with a log line.
func TestCorruptCacheIsRecloned(t *testing.T) {
	gt := sharedGitea(t)
	repoURL, _ := newRepo(t, gt, false)
	p := newPusher(t, gt, repoURL)
	c1 := p.commit(map[string]string{"plans/a.yaml": planA, "plans/b.yaml": planB}, "one")
	p.push("refs/heads/main:refs/heads/main")

	packFiles := func(t *testing.T, dir, pattern string) []string {
		files, err := filepath.Glob(filepath.Join(dir, "objects", "pack", pattern))
		if err != nil || len(files) == 0 {
			t.Fatalf("no %s in the cache: %v", pattern, err)
		}
		return files
	}
	cases := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
	}{
		{name: "garbage config", corrupt: func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[[[ not git config"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "HEAD removed", corrupt: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "HEAD")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "packs removed", corrupt: func(t *testing.T, dir string) {
			for _, f := range packFiles(t, dir, "*") {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{name: "pack truncated", corrupt: func(t *testing.T, dir string) {
			for _, f := range packFiles(t, dir, "*.pack") {
				if err := os.Truncate(f, 40); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{name: "remote rewritten to another URL", corrupt: func(t *testing.T, dir string) {
			cfg := "[core]\n\tbare = true\n[remote \"origin\"]\n\turl = http://127.0.0.1:1/other/plans.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
			if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			opts := Options{URL: repoURL, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: t.TempDir()}
			first, err := New(opts)
			g.Expect(err).NotTo(HaveOccurred())
			_, _, err = first.Fetch(t.Context())
			g.Expect(err).NotTo(HaveOccurred())
			tc.corrupt(t, first.Dir())

			restarted, err := New(opts)
			g.Expect(err).NotTo(HaveOccurred())
			ctx, log := captureLogs(t.Context())
			snap, changed, err := restarted.Fetch(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(BeTrue())
			g.Expect(snap.Revision).To(Equal(c1.String()))
			g.Expect(readFile(g, snap, "b.yaml")).To(Equal(planB))
			g.Expect(log.String()).To(ContainSubstring(`"msg"="cache corrupt, removing it to clone again"`))
			g.Expect(log.String()).To(ContainSubstring(`"msg"="clone finished"`))
		})
	}

	t.Run("packs removed under a running source", func(t *testing.T) {
		g := NewWithT(t)
		src, err := New(Options{URL: repoURL, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: t.TempDir()})
		g.Expect(err).NotTo(HaveOccurred())
		_, _, err = src.Fetch(t.Context())
		g.Expect(err).NotTo(HaveOccurred())
		for _, f := range packFiles(t, src.Dir(), "*") {
			g.Expect(os.Remove(f)).To(Succeed())
		}
		c2 := p.commit(map[string]string{"plans/a.yaml": planA2}, "two")
		p.push("refs/heads/main:refs/heads/main")
		ctx, log := captureLogs(t.Context())
		snap, changed, err := src.Fetch(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(changed).To(BeTrue())
		g.Expect(snap.Revision).To(Equal(c2.String()))
		g.Expect(readFile(g, snap, "a.yaml")).To(Equal(planA2))
		g.Expect(readFile(g, snap, "b.yaml")).To(Equal(planB))
		g.Expect(log.String()).To(ContainSubstring(`"msg"="cache corrupt, removing it to clone again"`))
	})
}

// BenchmarkFetchUnchanged measures the steady state: one Fetch of a branch that did not move,
// against the real Gitea over loopback HTTP (one ref advertisement, nothing read from git).
func BenchmarkFetchUnchanged(b *testing.B) {
	gt := sharedGitea(b)
	repoURL, _ := newRepo(b, gt, false)
	p := newPusher(b, gt, repoURL)
	files := map[string]string{}
	for i := range 50 {
		files[filepath.Join("plans", "team"+itoa(int64(i%5)), "plan"+itoa(int64(i))+".yaml")] = planA
	}
	p.commit(files, "fifty plans")
	p.push("refs/heads/main:refs/heads/main")
	src, err := New(Options{URL: repoURL, Ref: Ref{Branch: "main"}, Path: "plans", CacheDir: b.TempDir(), Auth: Auth{Token: gt.Token}})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := src.Fetch(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, changed, err := src.Fetch(b.Context())
		if err != nil || changed {
			b.Fatalf("changed=%v err=%v", changed, err)
		}
	}
}
