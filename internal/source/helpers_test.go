package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/drplan/drplan/internal/testenv"
)

// shared is one Gitea for the package's tests, started on first use and stopped by TestMain.
var shared struct {
	once  sync.Once
	dir   string
	gitea *testenv.Gitea
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.gitea != nil {
		_ = shared.gitea.Stop()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedGitea returns the package's Gitea. It skips under -short only: a missing binary is a
// failure otherwise.
func sharedGitea(tb testing.TB) *testenv.Gitea {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs the real Gitea; skipped under -short")
	}
	shared.once.Do(func() {
		tools, err := testenv.FindTools()
		if err != nil {
			shared.err = err
			return
		}
		if shared.dir, err = os.MkdirTemp("", "drplan-source-gitea-"); err != nil {
			shared.err = err
			return
		}
		shared.gitea, shared.err = testenv.StartGitea(context.Background(), shared.dir, tools)
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.gitea
}

var repoSeq atomic.Int64

// newRepo creates a repository named after the test and returns its clone URL.
func newRepo(tb testing.TB, g *testenv.Gitea, private bool) (url, name string) {
	tb.Helper()
	name = fmt.Sprintf("%s-%d", regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(tb.Name(), "-"), repoSeq.Add(1))
	if len(name) > 90 {
		name = name[len(name)-90:]
	}
	c, err := g.Client(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	repo, _, err := c.CreateRepo(gitea.CreateRepoOption{Name: name, Private: private, DefaultBranch: "main"})
	if err != nil {
		tb.Fatalf("create repo %s: %v", name, err)
	}
	return repo.CloneURL, name
}

// pusher is a developer's in-memory clone that commits and pushes with go-git.
type pusher struct {
	tb   testing.TB
	repo *git.Repository
	wt   *git.Worktree
	fs   billy.Filesystem
	auth *githttp.BasicAuth
}

func newPusher(tb testing.TB, g *testenv.Gitea, url string) *pusher {
	tb.Helper()
	wfs := memfs.New()
	repo, err := git.InitWithOptions(memory.NewStorage(), wfs, git.InitOptions{DefaultBranch: plumbing.Main})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		tb.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		tb.Fatal(err)
	}
	return &pusher{tb: tb, repo: repo, wt: wt, fs: wfs, auth: &githttp.BasicAuth{Username: g.Admin, Password: g.Token}}
}

// commit writes files (an empty content removes the file) and commits them on the current branch.
func (p *pusher) commit(files map[string]string, msg string) plumbing.Hash {
	p.tb.Helper()
	for name, content := range files {
		if content == "" {
			if _, err := p.wt.Remove(name); err != nil {
				p.tb.Fatal(err)
			}
			continue
		}
		if err := p.fs.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			p.tb.Fatal(err)
		}
		f, err := p.fs.Create(name)
		if err != nil {
			p.tb.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			p.tb.Fatal(err)
		}
		_ = f.Close()
		if _, err := p.wt.Add(name); err != nil {
			p.tb.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "Dev", Email: "dev@drplan.test", When: time.Now()}
	h, err := p.wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		p.tb.Fatal(err)
	}
	return h
}

// checkout switches to branch, creating it at HEAD when asked.
func (p *pusher) checkout(branch string, create bool) {
	p.tb.Helper()
	if err := p.wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Create: create}); err != nil {
		p.tb.Fatal(err)
	}
}

// tag creates a lightweight tag, or an annotated one with a message.
func (p *pusher) tag(name string, h plumbing.Hash, message string) {
	p.tb.Helper()
	var opts *git.CreateTagOptions
	if message != "" {
		opts = &git.CreateTagOptions{Message: message, Tagger: &object.Signature{Name: "Dev", Email: "dev@drplan.test", When: time.Now()}}
	}
	if _, err := p.repo.CreateTag(name, h, opts); err != nil {
		p.tb.Fatal(err)
	}
}

func (p *pusher) push(specs ...string) {
	p.tb.Helper()
	var rs []config.RefSpec
	for _, s := range specs {
		rs = append(rs, config.RefSpec(s))
	}
	err := p.repo.PushContext(context.Background(), &git.PushOptions{RemoteName: "origin", RefSpecs: rs, Auth: p.auth, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		p.tb.Fatalf("push %v: %v", specs, err)
	}
}

// logs records log lines (including V(1)) for assertions.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func captureLogs(ctx context.Context) (context.Context, *logs) {
	l := &logs{}
	logger := funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{Verbosity: 1})
	return logr.NewContext(ctx, logger), l
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// packs returns the number of objects in each pack of a cache directory.
func packs(tb testing.TB, dir string) map[string]int {
	tb.Helper()
	idxs, err := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.idx"))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int{}
	for _, name := range idxs {
		f, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		idx := idxfile.NewMemoryIndex()
		err = idxfile.NewDecoder(f).Decode(idx)
		_ = f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		n, err := idx.Count()
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(name)] = int(n)
	}
	return out
}
