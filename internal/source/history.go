package source

import (
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxHistory bounds how many commits Origin reads back from a revision.
const maxHistory = 10000

// Origin is where a change to a file came from.
type Origin struct {
	// Commit is the commit that made the change: on a merged branch, the branch's commit that
	// did (its author's, possibly signed); for a squash or rebase merge, the commit the forge
	// made; else the branch's own commit.
	Commit *object.Commit
	// Landed is the commit that put the change on the tracked branch: a merge commit, or
	// Commit itself; LandedAt is its committer time.
	Landed   string
	LandedAt time.Time
}

// ErrNotHeld means the condition does not hold at the revision asked about.
var ErrNotHeld = errors.New("the file does not hold it at this revision")

// Origin finds the commit that made holds true for the file at name (a path below the
// plans directory) as of revision rev: it walks back along first parents to the oldest commit
// of the run in which holds is true, and when that commit is a merge whose merged side already
// held it, down that side to the commit there that made it so. holds gets nil for a commit
// without the file.
func (s *Source) Origin(rev, name string, holds func(data []byte) bool) (Origin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo == nil {
		return Origin{}, errors.New("no clone of the plans repository yet")
	}
	file := path.Join(s.s.path, name)
	o, err := origin(s.repo, plumbing.NewHash(rev), file, holds)
	if err != nil {
		return Origin{}, s.red.wrap(fmt.Sprintf("find the commit that changed %s as of %s", file, rev), err)
	}
	return o, nil
}

func origin(repo *git.Repository, rev plumbing.Hash, file string, holds func([]byte) bool) (Origin, error) {
	at := func(c *object.Commit) (bool, error) {
		f, err := c.File(file)
		if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
			return holds(nil), nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s in commit %s: %w", file, c.Hash, err)
		}
		r, err := f.Reader()
		if err != nil {
			return false, fmt.Errorf("read %s in commit %s: %w", file, c.Hash, err)
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			return false, fmt.Errorf("read %s in commit %s: %w", file, c.Hash, err)
		}
		return holds(data), nil
	}
	// back walks first parents from c while holds stays true, and returns the oldest.
	back := func(c *object.Commit) (*object.Commit, error) {
		for i := 0; ; i++ {
			if i == maxHistory {
				return nil, fmt.Errorf("more than %d commits back from %s", maxHistory, rev)
			}
			if c.NumParents() == 0 {
				return c, nil
			}
			p, err := c.Parent(0)
			if err != nil {
				return nil, fmt.Errorf("read the parent of commit %s: %w", c.Hash, err)
			}
			ok, err := at(p)
			if err != nil {
				return nil, err
			}
			if !ok {
				return c, nil
			}
			c = p
		}
	}
	head, err := repo.CommitObject(rev)
	if err != nil {
		return Origin{}, fmt.Errorf("read commit %s: %w", rev, err)
	}
	ok, err := at(head)
	if err != nil {
		return Origin{}, err
	}
	if !ok {
		return Origin{}, ErrNotHeld
	}
	landed, err := back(head)
	if err != nil {
		return Origin{}, err
	}
	out := Origin{Commit: landed, Landed: landed.Hash.String(), LandedAt: landed.Committer.When}
	if landed.NumParents() < 2 {
		return out, nil
	}
	merged, err := landed.Parent(1)
	if err != nil {
		return Origin{}, fmt.Errorf("read the merged parent of commit %s: %w", landed.Hash, err)
	}
	if ok, err := at(merged); err != nil || !ok {
		// The merge itself made the change (a conflict resolved so): it is the origin.
		return out, err
	}
	if out.Commit, err = back(merged); err != nil {
		return Origin{}, err
	}
	return out, nil
}
