package source

import (
	"bytes"
	"errors"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	. "github.com/onsi/gomega"
)

// historyRepo builds commits in memory: each holds plans/p.yaml with the content given.
type historyRepo struct {
	t    *testing.T
	repo *git.Repository
	n    int
}

func (h *historyRepo) commit(content string, parents ...plumbing.Hash) plumbing.Hash {
	h.t.Helper()
	s := h.repo.Storer
	blob := s.NewEncodedObject()
	blob.SetType(plumbing.BlobObject)
	w, _ := blob.Writer()
	_, _ = w.Write([]byte(content))
	_ = w.Close()
	bh, err := s.SetEncodedObject(blob)
	if err != nil {
		h.t.Fatal(err)
	}
	store := func(o interface {
		Encode(plumbing.EncodedObject) error
	}) plumbing.Hash {
		obj := s.NewEncodedObject()
		if err := o.Encode(obj); err != nil {
			h.t.Fatal(err)
		}
		hash, err := s.SetEncodedObject(obj)
		if err != nil {
			h.t.Fatal(err)
		}
		return hash
	}
	var entries []object.TreeEntry
	if content != "" {
		entries = []object.TreeEntry{{Name: "p.yaml", Mode: 0o100644, Hash: bh}}
	}
	sub := store(&object.Tree{Entries: entries})
	root := store(&object.Tree{Entries: []object.TreeEntry{{Name: "plans", Mode: 0o040000, Hash: sub}}})
	h.n++
	sig := object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(int64(1e9+h.n), 0)}
	return store(&object.Commit{Author: sig, Committer: sig, Message: "c", TreeHash: root, ParentHashes: parents})
}

func TestOrigin(t *testing.T) {
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &historyRepo{t: t, repo: repo}
	holds := func(data []byte) bool { return bytes.Contains(data, []byte("failover: true")) }
	off, on := "failover: false\n", "failover: true\n"
	a := h.commit(off)
	b := h.commit(on, a)          // pushed straight
	c := h.commit(on+"x: 1\n", b) // a later commit that keeps it
	// A branch: x (unrelated), y sets it; merged by m onto a.
	x := h.commit(off+"y: 2\n", a)
	y := h.commit(on+"y: 2\n", x)
	m := h.commit(on+"y: 2\n", a, y)
	z := h.commit(on+"y: 3\n", m)
	// The merge itself sets it (both sides had it off).
	k := h.commit(off+"k: 1\n", a)
	mk := h.commit(on, a, k)
	// Squash: one commit on the branch.
	sq := h.commit(on, a)
	// The file appears with it set.
	e := h.commit("")
	f := h.commit(on, e)
	for _, tc := range []struct {
		name           string
		rev            plumbing.Hash
		commit, landed plumbing.Hash
		err            error
	}{
		{"pushed straight", b, b, b, nil},
		{"a later commit keeps it", c, b, b, nil},
		{"merged branch", m, y, m, nil},
		{"after the merge", z, y, m, nil},
		{"set by the merge", mk, mk, mk, nil},
		{"squash", sq, sq, sq, nil},
		{"new file", f, f, f, nil},
		{"not set", a, plumbing.ZeroHash, plumbing.ZeroHash, ErrNotHeld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			o, err := origin(repo, tc.rev, "plans/p.yaml", holds)
			if tc.err != nil {
				g.Expect(errors.Is(err, tc.err)).To(BeTrue(), "%v", err)
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(o.Commit.Hash).To(Equal(tc.commit))
			g.Expect(o.Landed).To(Equal(tc.landed.String()))
		})
	}
}
