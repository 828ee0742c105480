package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Snapshot is one revision of the plans: immutable, safe for concurrent use, and valid after
// the cache it was read from is gone.
type Snapshot struct {
	// Revision is the full commit SHA.
	Revision string
	// Ref is what was fetched: "refs/heads/main", "refs/tags/v1", "refs/pull/7/head", or the
	// commit SHA for a pinned commit.
	Ref string
	// Path is the plans directory inside the repository ("." for the root).
	Path string
	// FS holds the files under Path (regular files only; symlinks and submodules are left out).
	FS fs.FS
	// CommittedAt is the committer time of the commit.
	CommittedAt time.Time
	// Message is the commit message.
	Message string
}

// IsZero reports whether s holds no revision.
func (s Snapshot) IsZero() bool { return s.Revision == "" }

// readSnapshot reads the files under dir in commit h into memory, at most max bytes in total.
func readSnapshot(repo *git.Repository, h plumbing.Hash, ref, dir string, max int64) (Snapshot, error) {
	c, err := repo.CommitObject(h)
	if err != nil {
		return Snapshot{}, fmt.Errorf("read commit %s: %w", h, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return Snapshot{}, fmt.Errorf("read tree of commit %s: %w", h, err)
	}
	if dir != "." {
		tree, err = tree.Tree(dir)
		if errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
			return Snapshot{}, fmt.Errorf("directory %s in commit %s: %w", dir, h, ErrPathNotFound)
		}
		if err != nil {
			return Snapshot{}, fmt.Errorf("read directory %s in commit %s: %w", dir, h, err)
		}
	}
	t := newTreeFS(c.Committer.When)
	budget := max
	if err := readTree(repo, tree, ".", t, &budget); err != nil {
		return Snapshot{}, fmt.Errorf("read directory %s in commit %s: %w", dir, h, err)
	}
	t.seal()
	return Snapshot{
		Revision:    h.String(),
		Ref:         ref,
		Path:        dir,
		FS:          t,
		CommittedAt: c.Committer.When,
		Message:     c.Message,
	}, nil
}

func readTree(repo *git.Repository, tree *object.Tree, dir string, t *treeFS, budget *int64) error {
	for _, e := range tree.Entries {
		name := path.Join(dir, e.Name)
		switch e.Mode {
		case filemode.Dir:
			sub, err := repo.TreeObject(e.Hash)
			if err != nil {
				return fmt.Errorf("tree %s: %w", name, err)
			}
			t.addDir(name)
			if err := readTree(repo, sub, name, t, budget); err != nil {
				return err
			}
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			data, err := readBlob(repo, e.Hash, budget)
			if err != nil {
				return fmt.Errorf("file %s: %w", name, err)
			}
			t.addFile(name, data, e.Mode == filemode.Executable)
		default:
			// Symlinks and submodules are not plans.
		}
	}
	return nil
}

func readBlob(repo *git.Repository, h plumbing.Hash, budget *int64) ([]byte, error) {
	b, err := repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	if *budget -= b.Size; *budget < 0 {
		return nil, ErrTooLarge
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	data := make([]byte, b.Size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	return data, nil
}
