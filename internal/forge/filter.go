package forge

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
)

// PathFilter lists the open pull requests whose changes touch a directory of the repository,
// such as the plans path. It asks the forge for a pull request's files once per head commit.
type PathFilter struct {
	// Forge is asked.
	Forge Forge
	// Dir is the directory, slash-separated and relative to the repository's root; "" or "."
	// takes every pull request.
	Dir string

	mu sync.Mutex
	// touches remembers, per pull request number and head, whether it touches Dir.
	touches map[string]bool
}

// OpenPullRequests lists the open pull requests into base that touch Dir. A pull request
// whose files cannot be listed is left out and its error returned, joined, with the others.
func (f *PathFilter) OpenPullRequests(ctx context.Context, base string) ([]PullRequest, error) {
	prs, err := f.Forge.OpenPullRequests(ctx, base)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := make(map[string]bool, len(prs))
	var out []PullRequest
	var errs []error
	for _, pr := range prs {
		key := fmt.Sprintf("%d@%s", pr.Number, pr.HeadSHA)
		touches, ok := f.touches[key]
		if !ok {
			files, err := f.Forge.ChangedFiles(ctx, pr.Number)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			touches = Touches(files, f.Dir)
		}
		seen[key] = touches
		if touches {
			out = append(out, pr)
		}
	}
	// Only the open heads are kept: the memory is as large as the open pull requests.
	f.touches = seen
	return out, errors.Join(errs...)
}

// Touches reports whether any of files (slash-separated repository paths) is dir or under it.
func Touches(files []string, dir string) bool {
	dir = strings.Trim(path.Clean("/"+dir), "/")
	if dir == "" {
		return len(files) > 0
	}
	for _, f := range files {
		f = strings.TrimPrefix(path.Clean("/"+f), "/")
		if f == dir || strings.HasPrefix(f, dir+"/") {
			return true
		}
	}
	return false
}
