package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-logr/logr"
)

// sync opens (or creates) the cache, fetches t and resolves it to a commit. A cache that turns
// out to be corrupt is removed and cloned again, once.
func (s *Source) sync(ctx context.Context, log logr.Logger, t target) (plumbing.Hash, error) {
	for attempt := 0; ; attempt++ {
		if err := s.open(log); err != nil {
			return plumbing.ZeroHash, err
		}
		h, err := s.fetchResolve(ctx, log, t)
		if err == nil {
			return h, nil
		}
		if attempt > 0 || !s.corrupt(err) {
			return plumbing.ZeroHash, err
		}
		log.Error(s.red.wrap("fetch", err), "cache corrupt, removing it to clone again", "dir", s.dir)
		if err := s.drop(); err != nil {
			return plumbing.ZeroHash, err
		}
	}
}

// open sets s.repo from the cache on disk, or from a new empty cache.
func (s *Source) open(log logr.Logger) error {
	if s.repo != nil {
		return nil
	}
	repo, err := openCache(s.dir, s.s.url, s.tracked)
	if err == nil {
		s.repo = repo
		return nil
	}
	if !errors.Is(err, errNoCache) {
		log.Error(s.red.wrap("open cache", err), "cache corrupt, removing it to clone again", "dir", s.dir)
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove cache %s: %w", s.dir, err)
	}
	if s.repo, err = initCache(s.dir, s.s.url); err != nil {
		return err
	}
	s.empty = true
	return nil
}

// drop removes the cache; the next open creates it again.
func (s *Source) drop() error {
	s.repo = nil
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove cache %s: %w", s.dir, err)
	}
	return nil
}

func (s *Source) fetchResolve(ctx context.Context, log logr.Logger, t target) (plumbing.Hash, error) {
	if !t.commit.IsZero() {
		if _, err := s.repo.CommitObject(t.commit); err == nil {
			return t.commit, nil // pinned and already here: nothing to fetch, ever
		}
	}
	clone := s.empty
	start := time.Now()
	if clone {
		log.Info("clone started", "dir", s.dir)
	}
	err := s.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   t.specs,
		Auth:       s.auth,
		Tags:       git.NoTags,
		Force:      true,
		CABundle:   s.s.CABundle,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, err
	}
	h, err := resolve(s.repo, t)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if clone {
		s.empty = false
		log.Info("clone finished", "revision", h.String(), "duration", time.Since(start).String(), "bytes", dirSize(s.dir))
	} else {
		log.V(1).Info("fetch finished", "revision", h.String(), "duration", time.Since(start).String())
	}
	return h, nil
}

// resolve returns the commit t designates in the cache.
func resolve(repo *git.Repository, t target) (plumbing.Hash, error) {
	if !t.commit.IsZero() {
		if _, err := repo.CommitObject(t.commit); err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", t.commit, ErrRefNotFound)
			}
			return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", t.commit, err)
		}
		return t.commit, nil
	}
	ref, err := repo.Storer.Reference(t.local)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, fmt.Errorf("%s: %w", t.desc, ErrRefNotFound)
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	h := ref.Hash()
	if tag, err := repo.TagObject(h); err == nil { // annotated tag: peel to its commit
		c, err := tag.Commit()
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("tag %s does not point to a commit: %w", t.desc, err)
		}
		h = c.Hash
	}
	return h, nil
}

// corrupt tells a broken cache from a failing remote: remote and context errors never are;
// otherwise missing objects, or a tracked revision that cannot be read, are.
func (s *Source) corrupt(err error) bool {
	for _, k := range []error{ctxErr(err), ErrRefNotFound, transport.ErrAuthenticationRequired,
		transport.ErrAuthorizationFailed, transport.ErrRepositoryNotFound, transport.ErrEmptyRemoteRepository} {
		if k != nil && errors.Is(err, k) {
			return false
		}
	}
	if errors.Is(err, git.NoMatchingRefSpecError{}) {
		return false
	}
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return true
	}
	return verifyCache(s.repo, s.s.url, s.tracked) != nil
}

func ctxErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}
