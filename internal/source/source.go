package source

import (
	"context"
	"errors"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-logr/logr"
)

// maxRefSnapshots bounds the snapshots FetchRef keeps to skip re-reading an unchanged head.
const maxRefSnapshots = 64

// Source fetches the plans repository into a local cache and reads snapshots from it.
// Its methods are safe for concurrent use; fetches are serialized. One Source per cache
// directory per process.
type Source struct {
	s       settings
	auth    transport.AuthMethod
	red     redactor
	dir     string
	tracked target

	mu    sync.Mutex // guards everything below, and the cache on disk
	repo  *git.Repository
	empty bool // the cache was just created: the next fetch is a clone
	last  Snapshot
	bad   struct {
		revision string
		err      error
	}
	refs map[string]Snapshot

	statusMu sync.Mutex
	status   Status
}

// target is one ref to fetch and where it lands in the cache.
type target struct {
	desc   string                 // for messages: "branch main", "refs/pull/3/head"
	ref    string                 // Snapshot.Ref
	local  plumbing.ReferenceName // the cache's copy of the ref
	specs  []config.RefSpec
	commit plumbing.Hash // a pinned commit, or zero
}

// New validates opts and returns a Source. It does no I/O: the first Fetch opens or clones
// the cache.
func New(opts Options) (*Source, error) {
	s, err := opts.settle()
	if err != nil {
		return nil, newRedactor(s).wrap("git source options", err)
	}
	auth, err := s.authMethod()
	if err != nil {
		return nil, newRedactor(s).wrap("git source "+s.url+" credentials", err)
	}
	return &Source{
		s:       s,
		auth:    auth,
		red:     newRedactor(s),
		dir:     cacheDir(s.CacheDir, s.url),
		tracked: trackedTarget(s.Ref),
		refs:    map[string]Snapshot{},
	}, nil
}

func trackedTarget(r Ref) target {
	switch {
	case r.Tag != "":
		local := plumbing.NewTagReferenceName(r.Tag)
		return target{desc: r.String(), ref: local.String(), local: local,
			specs: []config.RefSpec{config.RefSpec("+" + local + ":" + local)}}
	case r.Commit != "" && r.Branch == "":
		return target{desc: r.String(), ref: r.Commit,
			specs:  []config.RefSpec{"+refs/heads/*:refs/remotes/" + remoteName + "/*"},
			commit: plumbing.NewHash(r.Commit)}
	default:
		branch := plumbing.NewBranchReferenceName(r.Branch)
		local := plumbing.NewRemoteReferenceName(remoteName, r.Branch)
		t := target{desc: r.String(), ref: branch.String(), local: local,
			specs: []config.RefSpec{config.RefSpec("+" + branch + ":" + local)}}
		if r.Commit != "" {
			t.ref, t.commit = r.Commit, plumbing.NewHash(r.Commit)
		}
		return t
	}
}

// URL is the repository URL without credentials.
func (s *Source) URL() string { return s.s.url }

// Dir is the cache directory of this repository.
func (s *Source) Dir() string { return s.dir }

// Fetch brings the tracked ref up to date and returns its snapshot. changed reports whether the
// snapshot's revision differs from the one the previous call returned (true on the first).
// When the revision did not move, the previous snapshot is returned without reading anything.
//
// On failure Fetch returns the last good snapshot (from this process, or else from the cache
// left by a previous one) together with the error; the snapshot is zero when there is none.
func (s *Source) Fetch(ctx context.Context) (snap Snapshot, changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	log := logr.FromContextOrDiscard(ctx).WithValues("url", s.s.url, "ref", s.tracked.desc)
	op := "fetch " + s.s.url + " " + s.tracked.desc

	h, err := s.sync(ctx, log, s.tracked)
	if err != nil {
		return s.fail(log, op, err)
	}
	rev := h.String()
	if rev == s.last.Revision {
		s.succeed()
		return s.last, false, nil
	}
	if rev == s.bad.revision {
		return s.fail(log, op, s.bad.err)
	}
	next, err := s.read(ctx, log, s.tracked, h)
	if err != nil {
		if contentProblem(err) {
			s.bad.revision, s.bad.err = rev, err
		}
		return s.fail(log, op, err)
	}
	log.Info("new revision", "revision", rev, "previous", s.last.Revision, "committedAt", next.CommittedAt)
	s.last = next
	s.succeed()
	return s.last, true, nil
}

// FetchRef fetches a full ref name, such as a pull request head ("refs/pull/7/head" on Gitea
// and GitHub, "refs/merge-requests/7/head" on GitLab), and returns its snapshot. The tracked
// ref and its snapshot are left alone.
func (s *Source) FetchRef(ctx context.Context, ref string) (Snapshot, error) {
	op := "fetch " + s.s.url + " " + ref
	name := plumbing.ReferenceName(ref)
	if !strings.HasPrefix(ref, "refs/") || name.Validate() != nil {
		return Snapshot{}, s.red.wrap(op, errors.New("not a full ref name such as refs/pull/7/head"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	log := logr.FromContextOrDiscard(ctx).WithValues("url", s.s.url, "ref", ref)
	local := plumbing.ReferenceName("refs/drplan/" + strings.TrimPrefix(ref, "refs/"))
	t := target{desc: ref, ref: ref, local: local, specs: []config.RefSpec{config.RefSpec("+" + ref + ":" + local.String())}}

	h, err := s.sync(ctx, log, t)
	if err != nil {
		return Snapshot{}, s.red.wrap(op, err)
	}
	// The snapshot lives in memory and the objects stay in the cache, so the local copy of the
	// ref is dropped: closed pull requests leave no refs behind.
	defer func() {
		if s.repo != nil {
			_ = s.repo.Storer.RemoveReference(local)
		}
	}()
	if prev, ok := s.refs[ref]; ok && prev.Revision == h.String() {
		return prev, nil
	}
	snap, err := s.read(ctx, log, t, h)
	if err != nil {
		return Snapshot{}, s.red.wrap(op, err)
	}
	if len(s.refs) >= maxRefSnapshots {
		clear(s.refs)
	}
	s.refs[ref] = snap
	return snap, nil
}

// read reads the snapshot of commit h. Objects that cannot be read mean a corrupt cache (the
// fetch only checks the tips): it is removed, t fetched again, and its commit read once more.
func (s *Source) read(ctx context.Context, log logr.Logger, t target, h plumbing.Hash) (Snapshot, error) {
	snap, err := readSnapshot(s.repo, h, t.ref, s.s.path, s.s.MaxBytes)
	if err == nil || contentProblem(err) {
		return snap, err
	}
	log.Error(s.red.wrap("read snapshot", err), "cache corrupt, removing it to clone again", "dir", s.dir)
	if err := s.drop(); err != nil {
		return Snapshot{}, err
	}
	if h, err = s.sync(ctx, log, t); err != nil {
		return Snapshot{}, err
	}
	return readSnapshot(s.repo, h, t.ref, s.s.path, s.s.MaxBytes)
}

// contentProblem tells errors about what a commit holds (they need a human, and the same
// commit will always fail the same way) from errors reading the cache.
func contentProblem(err error) bool {
	return errors.Is(err, ErrPathNotFound) || errors.Is(err, ErrTooLarge)
}
