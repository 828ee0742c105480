package source

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// objectCacheSize bounds go-git's in-memory object cache (its default is 96 MiB); plans
// repositories are small and snapshots are read once per revision.
const objectCacheSize = 4 * cache.MiByte

// remoteName is the only remote of the cache.
const remoteName = "origin"

// cacheDir is the clone's directory: one per sanitized URL, so that a changed URL never reuses
// another repository's objects and several sources may share a CacheDir.
func cacheDir(root, url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(root, hex.EncodeToString(sum[:8]))
}

func newStorage(dir string) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRU(objectCacheSize),
		filesystem.Options{ExclusiveAccess: true})
}

// openCache opens the clone in dir. It fails with errNoCache when the directory is missing or
// empty, and with another error when it holds a clone that cannot be read or belongs to another
// URL.
func openCache(dir, url string, tracked target) (*git.Repository, error) {
	if entries, err := os.ReadDir(dir); errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil, errNoCache
	}
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	repo, err := git.Open(newStorage(dir), nil)
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	if err := verifyCache(repo, url, tracked); err != nil {
		return nil, err
	}
	return repo, nil
}

var errNoCache = errors.New("no cache")

// initCache creates an empty bare repository in dir with the remote set to url.
func initCache(dir, url string) (*git.Repository, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cache: %w", err)
	}
	repo, err := git.InitWithOptions(newStorage(dir), nil, git.InitOptions{DefaultBranch: plumbing.Main})
	if err != nil {
		return nil, fmt.Errorf("init cache: %w", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{url}}); err != nil {
		return nil, fmt.Errorf("init cache: %w", err)
	}
	return repo, nil
}

// verifyCache checks that the clone's remote is url and that the tracked revision, when the
// cache has one, can be read down to its root tree.
func verifyCache(repo *git.Repository, url string, tracked target) error {
	remote, err := repo.Remote(remoteName)
	if err != nil {
		return fmt.Errorf("read cache remote: %w", err)
	}
	if urls := remote.Config().URLs; len(urls) != 1 || urls[0] != url {
		return fmt.Errorf("cache remote is %v, not %s", urls, url)
	}
	h, err := resolve(repo, tracked)
	if errors.Is(err, ErrRefNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read cached revision: %w", err)
	}
	c, err := repo.CommitObject(h)
	if err != nil {
		return fmt.Errorf("read cached commit %s: %w", h, err)
	}
	if _, err := c.Tree(); err != nil {
		return fmt.Errorf("read cached tree of commit %s: %w", h, err)
	}
	return nil
}

// dirSize sums the sizes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
