package forge

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/drplan/drplan/internal/revision"
)

// Proposal is a change the agent proposes as a pull request of its own, such as the reversed
// plan after a failover.
type Proposal struct {
	// Base is the branch the pull request merges into.
	Base string
	// Branch is the agent's head branch. ProposeChange moves it: nobody else should push to it.
	Branch string
	// Title and Body are the pull request's.
	Title string
	Body  string
	// Message is the commit's message.
	Message string
	// Files are the files the commit writes, path → content. No content is empty: a proposal
	// writes files, it does not delete them.
	Files map[string]string
}

// validate reports what makes the proposal one no forge could make.
func (p Proposal) validate() error {
	var errs []error
	switch {
	case p.Base == "" || p.Branch == "":
		errs = append(errs, errors.New("base and branch are both required"))
	case p.Base == p.Branch:
		errs = append(errs, fmt.Errorf("branch %s is the base", p.Branch))
	}
	if strings.TrimSpace(p.Title) == "" {
		errs = append(errs, errors.New("no title"))
	}
	if strings.TrimSpace(p.Message) == "" {
		errs = append(errs, errors.New("no commit message"))
	}
	if len(p.Files) == 0 {
		errs = append(errs, errors.New("no files"))
	}
	for _, f := range p.paths() {
		switch {
		case f == "" || path.Clean(f) != f || path.IsAbs(f) || f == ".." || strings.HasPrefix(f, "../"):
			errs = append(errs, fmt.Errorf("file path %q is not a clean relative path", f))
		case p.Files[f] == "":
			errs = append(errs, fmt.Errorf("file %s has no content", f))
		}
	}
	return errors.Join(errs...)
}

// paths returns the proposal's file paths, sorted.
func (p Proposal) paths() []string {
	out := make([]string, 0, len(p.Files))
	for f := range p.Files {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// file is one of the proposal's files as a forge has it at a commit.
type file struct {
	// Content is the file's content.
	Content string
	// ID is what the forge needs to update the file: its blob SHA on Gitea.
	ID string
}

// readFile reads one file at a commit; false when there is no such file.
type readFile func(ctx context.Context, ref, path string) (file, bool, error)

// read reads the proposal's files at ref, leaving out those that do not exist there.
func (p Proposal) read(ctx context.Context, ref string, read readFile) (map[string]file, error) {
	out := map[string]file{}
	for _, f := range p.paths() {
		got, ok, err := read(ctx, ref, f)
		if err != nil {
			return nil, fmt.Errorf("read %s at %s: %w", f, revision.Short(ref), err)
		}
		if ok {
			out[f] = got
		}
	}
	return out, nil
}

// changes returns the paths whose content at a commit (files, as read) is not the
// proposal's, sorted: what the proposal's commit on that commit writes.
func (p Proposal) changes(files map[string]file) []string {
	var out []string
	for _, f := range p.paths() {
		if got, ok := files[f]; !ok || got.Content != p.Files[f] {
			out = append(out, f)
		}
	}
	return out
}

// onTop reports whether a commit with parents, changing the paths changed, has the shape of
// the proposal's commit on base: one commit whose only parent is base, changing exactly want.
// Whether it writes the proposal's contents is then a matter of reading them.
func onTop(base string, parents, changed, want []string) bool {
	if len(parents) != 1 || parents[0] != base {
		return false
	}
	changed = slices.Clone(changed)
	slices.Sort(changed)
	return slices.Equal(slices.Compact(changed), want)
}

// outdated reports whether an open pull request's title or body is not the proposal's.
func (p Proposal) outdated(title, body string) bool {
	// Forges store the body as sent, except for line ends a web edit may have turned to CRLF.
	return title != p.Title || strings.ReplaceAll(body, "\r\n", "\n") != p.Body
}
