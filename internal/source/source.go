package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

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

// Status describes the outcome of the recent Fetch calls.
type Status struct {
	// Revision is the last good revision, served while fetches fail.
	Revision string
	// LastSuccess is when a Fetch last succeeded.
	LastSuccess time.Time
	// FailingSince is when the current run of failures began; zero when the last Fetch succeeded.
	FailingSince time.Time
	// Failures counts consecutive failed Fetch calls; feed it to Backoff.Delay.
	Failures int
	// LastError is the last Fetch error (redacted), nil after a success.
	LastError error
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
		return nil, fmt.Errorf("git source: %w", newRedactor(s).wrap("options", err))
	}
	auth, err := s.authMethod()
	if err != nil {
		return nil, fmt.Errorf("git source %s: %w", s.url, newRedactor(s).wrap("credentials", err))
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
		return target{desc: r.String(), ref: r.Commit, local: plumbing.NewRemoteReferenceName(remoteName, r.Branch),
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

// Status returns the outcome of the recent fetches. It does not wait for a running Fetch.
func (s *Source) Status() Status {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	return s.status
}

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
	defer func() { _ = s.repo.Storer.RemoveReference(local) }()
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

// fail records a failed Fetch and returns the last good snapshot with the redacted error.
// Without one yet, a revision left in the cache by an earlier run serves as last good.
func (s *Source) fail(log logr.Logger, op string, cause error) (Snapshot, bool, error) {
	err := s.red.wrap(op, cause)
	changed := false
	if s.last.IsZero() && s.repo != nil {
		if h, rerr := resolve(s.repo, s.tracked); rerr == nil {
			if snap, rerr := readSnapshot(s.repo, h, s.tracked.ref, s.s.path, s.s.MaxBytes); rerr == nil {
				log.Info("using the cached revision while fetches fail", "revision", snap.Revision)
				s.last, changed = snap, true
			}
		}
	}
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	if s.status.Failures == 0 {
		s.status.FailingSince = s.s.now()
	}
	s.status.Failures++
	s.status.LastError = err
	s.status.Revision = s.last.Revision
	return s.last, changed, err
}

func (s *Source) succeed() {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	s.status = Status{Revision: s.last.Revision, LastSuccess: s.s.now()}
}
