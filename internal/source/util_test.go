package source

import (
	"strconv"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// timeoutPR bounds how long Gitea takes to move refs/pull/N/head after a push to the branch.
const timeoutPR = 30 * time.Second

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// cacheRefs lists the references held in a cache, HEAD aside.
func cacheRefs(tb testing.TB, dir string) []string {
	tb.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		tb.Fatal(err)
	}
	iter, err := repo.References()
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	_ = iter.ForEach(func(r *plumbing.Reference) error {
		if r.Name() != plumbing.HEAD {
			out = append(out, r.Name().String())
		}
		return nil
	})
	return out
}
