package source

import (
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	. "github.com/onsi/gomega"
)

// memoryCommit commits files (path -> content) into a new in-memory repository, plus a
// symlink, and returns the repository and the commit.
func memoryCommit(t *testing.T, files map[string]string, when time.Time) (*git.Repository, plumbing.Hash) {
	t.Helper()
	wfs := memfs.New()
	repo, err := git.Init(memory.NewStorage(), wfs)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		f, err := wfs.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	}
	if err := wfs.Symlink("a.yaml", "plans/link.yaml"); err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "t", Email: "t@drplan.test", When: when}
	h, err := wt.Commit("add plans\n\nbody", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	return repo, h
}

func TestReadSnapshot(t *testing.T) {
	when := time.Date(2026, 3, 1, 10, 41, 0, 0, time.UTC)
	repo, h := memoryCommit(t, map[string]string{
		"README.md":               "# plans\n",
		"plans/a.yaml":            "kind: DRPlan\nmetadata: {name: a}\n",
		"plans/sub/b.yaml":        "kind: DRPlan\nmetadata: {name: b}\n",
		"plans/sub/deeper/c.yaml": "kind: DRPlan\nmetadata: {name: c}\n",
	}, when)
	// The commit does hold a symlink, which snapshots leave out.
	c, err := repo.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	if e, err := tree.FindEntry("plans/link.yaml"); err != nil || e.Mode != filemode.Symlink {
		t.Fatalf("test commit has no symlink: %v %v", e, err)
	}

	cases := []struct {
		name      string
		dir       string
		max       int64
		wantFiles []string
		absent    []string
		wantErr   error
	}{
		{name: "sub-path", dir: "plans", max: DefaultMaxBytes,
			wantFiles: []string{"a.yaml", "sub/b.yaml", "sub/deeper/c.yaml"}, absent: []string{"README.md", "link.yaml"}},
		{name: "nested sub-path", dir: "plans/sub", max: DefaultMaxBytes, wantFiles: []string{"b.yaml", "deeper/c.yaml"}, absent: []string{"a.yaml"}},
		{name: "root", dir: ".", max: DefaultMaxBytes, wantFiles: []string{"README.md", "plans/a.yaml", "plans/sub/b.yaml"}, absent: []string{"plans/link.yaml"}},
		{name: "missing directory", dir: "nope", max: DefaultMaxBytes, wantErr: ErrPathNotFound},
		{name: "a file is not a directory", dir: "README.md", max: DefaultMaxBytes, wantErr: ErrPathNotFound},
		{name: "over the size bound", dir: "plans", max: 40, wantErr: ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			snap, err := readSnapshot(repo, h, "refs/heads/main", tc.dir, tc.max)
			if tc.wantErr != nil {
				g.Expect(err).To(MatchError(tc.wantErr))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(snap.Revision).To(Equal(h.String()))
			g.Expect(snap.Ref).To(Equal("refs/heads/main"))
			g.Expect(snap.Path).To(Equal(tc.dir))
			g.Expect(snap.Message).To(Equal("add plans\n\nbody"))
			g.Expect(snap.CommittedAt.Equal(when)).To(BeTrue())
			g.Expect(fstest.TestFS(snap.FS, tc.wantFiles...)).To(Succeed())
			for _, name := range tc.absent {
				_, err := fs.Stat(snap.FS, name)
				g.Expect(err).To(MatchError(fs.ErrNotExist), name)
			}
		})
	}
}

func TestSnapshotFSIsImmutable(t *testing.T) {
	g := NewWithT(t)
	when := time.Date(2026, 3, 1, 10, 41, 0, 0, time.UTC)
	repo, h := memoryCommit(t, map[string]string{"plans/a.yaml": "a: 1\n"}, when)
	snap, err := readSnapshot(repo, h, "refs/heads/main", "plans", DefaultMaxBytes)
	g.Expect(err).NotTo(HaveOccurred())

	data, err := fs.ReadFile(snap.FS, "a.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	data[0] = 'X'
	again, err := fs.ReadFile(snap.FS, "a.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(again)).To(Equal("a: 1\n"))

	info, err := fs.Stat(snap.FS, "a.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.ModTime().Equal(when)).To(BeTrue())
	g.Expect(info.Mode().IsRegular()).To(BeTrue())

	_, err = fs.ReadFile(snap.FS, ".")
	g.Expect(err).To(HaveOccurred())
	_, err = snap.FS.Open("../a.yaml")
	g.Expect(err).To(MatchError(fs.ErrInvalid))
}
