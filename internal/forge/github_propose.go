package forge

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v84/github"

	"github.com/drplan/drplan/internal/revision"
)

// ProposeChange writes the files with GitHub's git data API: a tree on the base's tree, a
// commit of it on the base's head, the branch's ref created or force-moved to it. Trees are
// named by their content, so the tree is made first and compared: the base's tree means there
// is nothing to propose, the branch's commit's tree (on the base's head) means nothing to write.
func (g *gitHub) ProposeChange(ctx context.Context, p Proposal) (*PullRequest, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("propose %s into %s in github %s: %w", p.Branch, p.Base, g.repo(), err)
	}
	head, err := g.proposeCommit(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("propose %s into %s in github %s: %w", p.Branch, p.Base, g.repo(), err)
	}
	if head == "" {
		return nil, nil
	}
	pr, err := g.proposePullRequest(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("propose %s into %s in github %s: %w", p.Branch, p.Base, g.repo(), err)
	}
	pr.HeadSHA = head
	return pr, nil
}

// proposeCommit keeps the branch at the proposal's commit on the base's head and returns it;
// "" when the base holds the files already.
func (g *gitHub) proposeCommit(ctx context.Context, p Proposal) (string, error) {
	base, err := g.branchHead(ctx, p.Base)
	if err != nil {
		return "", err
	}
	baseTree, _, err := g.commit(ctx, base)
	if err != nil {
		return "", err
	}
	entries := make([]*github.TreeEntry, 0, len(p.Files))
	for _, f := range p.paths() {
		entries = append(entries, &github.TreeEntry{Path: github.Ptr(f), Mode: github.Ptr("100644"),
			Type: github.Ptr("blob"), Content: github.Ptr(p.Files[f])})
	}
	tree, resp, err := g.c.Git.CreateTree(ctx, g.owner, g.name, baseTree, entries)
	if err != nil {
		return "", fmt.Errorf("create a tree of %d files on %s: %w", len(entries), revision.Short(base), classify(httpResponse(resp), err))
	}
	if tree.GetSHA() == baseTree {
		return "", nil
	}
	head, err := g.branchHead(ctx, p.Branch)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	exists := err == nil
	if exists {
		headTree, parents, err := g.commit(ctx, head)
		if err != nil {
			return "", err
		}
		if headTree == tree.GetSHA() && len(parents) == 1 && parents[0] == base {
			return head, nil
		}
	}
	cm, resp, err := g.c.Git.CreateCommit(ctx, g.owner, g.name, github.Commit{
		Message: github.Ptr(p.Message), Tree: &github.Tree{SHA: tree.SHA}, Parents: []*github.Commit{{SHA: github.Ptr(base)}}}, nil)
	if err != nil {
		return "", fmt.Errorf("create a commit on %s: %w", revision.Short(base), classify(httpResponse(resp), err))
	}
	if exists {
		_, resp, err = g.c.Git.UpdateRef(ctx, g.owner, g.name, "heads/"+p.Branch, github.UpdateRef{SHA: cm.GetSHA(), Force: github.Ptr(true)})
	} else {
		_, resp, err = g.c.Git.CreateRef(ctx, g.owner, g.name, github.CreateRef{Ref: "refs/heads/" + p.Branch, SHA: cm.GetSHA()})
	}
	if err != nil {
		return "", fmt.Errorf("move branch %s to %s: %w", p.Branch, revision.Short(cm.GetSHA()), classify(httpResponse(resp), err))
	}
	return cm.GetSHA(), nil
}

// proposePullRequest opens the pull request from the branch, or brings the open one's title
// and body up to date.
func (g *gitHub) proposePullRequest(ctx context.Context, p Proposal) (*PullRequest, error) {
	// The head filter names the owner: a fork's branch of the same name is not listed.
	opts := &github.PullRequestListOptions{State: "open", Head: g.owner + ":" + p.Branch, Base: p.Base,
		ListOptions: github.ListOptions{PerPage: 100}}
	prs, resp, err := g.c.PullRequests.List(ctx, g.owner, g.name, opts)
	if err != nil {
		return nil, fmt.Errorf("list open pull requests from %s: %w", p.Branch, classify(httpResponse(resp), err))
	}
	if len(prs) > 0 {
		o := prs[0]
		if !p.outdated(o.GetTitle(), o.GetBody()) {
			pr := gitHubPullRequest(o)
			return &pr, nil
		}
		e, resp, err := g.c.PullRequests.Edit(ctx, g.owner, g.name, o.GetNumber(), &github.PullRequest{Title: github.Ptr(p.Title), Body: github.Ptr(p.Body)})
		if err != nil {
			return nil, fmt.Errorf("edit pull request #%d: %w", o.GetNumber(), classify(httpResponse(resp), err))
		}
		pr := gitHubPullRequest(e)
		return &pr, nil
	}
	o, resp, err := g.c.PullRequests.Create(ctx, g.owner, g.name, &github.NewPullRequest{
		Title: github.Ptr(p.Title), Head: github.Ptr(p.Branch), Base: github.Ptr(p.Base), Body: github.Ptr(p.Body)})
	if err != nil {
		return nil, fmt.Errorf("open the pull request: %w", classify(httpResponse(resp), err))
	}
	pr := gitHubPullRequest(o)
	return &pr, nil
}

// branchHead returns a branch's head commit; an error wrapping ErrNotFound when there is no
// such branch.
func (g *gitHub) branchHead(ctx context.Context, branch string) (string, error) {
	ref, resp, err := g.c.Git.GetRef(ctx, g.owner, g.name, "heads/"+branch)
	if err != nil {
		return "", fmt.Errorf("read branch %s: %w", branch, classify(httpResponse(resp), err))
	}
	return ref.GetObject().GetSHA(), nil
}

// commit returns a commit's tree and parents.
func (g *gitHub) commit(ctx context.Context, sha string) (string, []string, error) {
	c, resp, err := g.c.Git.GetCommit(ctx, g.owner, g.name, sha)
	if err != nil {
		return "", nil, fmt.Errorf("read commit %s: %w", revision.Short(sha), classify(httpResponse(resp), err))
	}
	parents := make([]string, 0, len(c.Parents))
	for _, pa := range c.Parents {
		parents = append(parents, pa.GetSHA())
	}
	return c.GetTree().GetSHA(), parents, nil
}
