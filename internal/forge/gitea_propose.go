package forge

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"

	"code.gitea.io/sdk/gitea"

	"github.com/drplan/drplan/internal/revision"
)

// ProposeChange writes the files with Gitea's ChangeFiles (one commit for several files) from
// the base onto the branch, force-pushed when the branch exists.
func (g *giteaForge) ProposeChange(ctx context.Context, p Proposal) (*PullRequest, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("propose %s into %s in gitea %s: %w", p.Branch, p.Base, g.repo(), err)
	}
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	head, err := g.proposeCommit(ctx, c, p)
	if err != nil {
		return nil, fmt.Errorf("propose %s into %s in gitea %s: %w", p.Branch, p.Base, g.repo(), err)
	}
	if head == "" {
		return nil, nil
	}
	pr, err := g.proposePullRequest(c, p)
	if err != nil {
		return nil, fmt.Errorf("propose %s into %s in gitea %s: %w", p.Branch, p.Base, g.repo(), err)
	}
	// Gitea moves a pull request's head after a push asynchronously: the branch's commit is
	// the head it will have.
	pr.HeadSHA = head
	return pr, nil
}

// proposeCommit keeps the branch at the proposal's commit on the base's head and returns it;
// "" when the base holds the files already.
func (g *giteaForge) proposeCommit(ctx context.Context, c *gitea.Client, p Proposal) (string, error) {
	read := g.readFile(c)
	base, ok, err := g.branchHead(c, p.Base)
	if err == nil && !ok {
		err = ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read branch %s: %w", p.Base, err)
	}
	onBase, err := p.read(ctx, base, read)
	if err != nil {
		return "", err
	}
	want := p.changes(onBase)
	if len(want) == 0 {
		return "", nil
	}
	head, exists, err := g.branchHead(c, p.Branch)
	if err != nil {
		return "", fmt.Errorf("read branch %s: %w", p.Branch, err)
	}
	if exists {
		cm, resp, err := c.GetSingleCommit(g.owner, g.name, head)
		if err != nil {
			return "", fmt.Errorf("read commit %s: %w", revision.Short(head), classify(giteaHTTP(resp), err))
		}
		var parents, changed []string
		for _, pa := range cm.Parents {
			parents = append(parents, pa.SHA)
		}
		for _, f := range cm.Files {
			changed = append(changed, f.Filename)
		}
		if onTop(base, parents, changed, want) {
			onBranch, err := p.read(ctx, head, read)
			if err != nil {
				return "", err
			}
			if len(p.changes(onBranch)) == 0 {
				return head, nil
			}
		}
	}
	ops := make([]*gitea.ChangeFileOperation, 0, len(want))
	for _, f := range want {
		op := &gitea.ChangeFileOperation{Operation: "create", Path: f, Content: base64.StdEncoding.EncodeToString([]byte(p.Files[f]))}
		if old, ok := onBase[f]; ok {
			op.Operation, op.SHA = "update", old.ID
		}
		ops = append(ops, op)
	}
	// The base is named by branch: a push to it since it was read fails the update of a file
	// it changed (its SHA is stale) and is otherwise taken in, still one commit on its head.
	fr, resp, err := c.ChangeFiles(g.owner, g.name, gitea.ChangeFilesOptions{
		Files: ops, Message: p.Message, Branch: p.Base, NewBranch: p.Branch, ForcePush: true})
	if err != nil {
		return "", fmt.Errorf("commit %d files to branch %s: %w", len(ops), p.Branch, classify(giteaHTTP(resp), err))
	}
	if fr.Commit == nil || fr.Commit.SHA == "" {
		return "", fmt.Errorf("commit %d files to branch %s: no commit in the answer", len(ops), p.Branch)
	}
	return fr.Commit.SHA, nil
}

// proposePullRequest opens the pull request from the branch, or brings the open one's title
// and body up to date.
func (g *giteaForge) proposePullRequest(c *gitea.Client, p Proposal) (*PullRequest, error) {
	prs, err := pages(func(page int) ([]*gitea.PullRequest, int, error) {
		l, resp, err := c.ListRepoPullRequests(g.owner, g.name, gitea.ListPullRequestsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize}, State: gitea.StateOpen, Sort: "oldest"})
		return l, giteaNext(resp), classify(giteaHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list open pull requests: %w", err)
	}
	for _, o := range prs {
		// Gitea's list takes no head filter; a fork's branch of the same name is not the agent's.
		if o.Base == nil || o.Head == nil || o.Base.Ref != p.Base || o.Head.Ref != p.Branch || o.Head.RepoID != o.Base.RepoID {
			continue
		}
		if !p.outdated(o.Title, o.Body) {
			pr := giteaPullRequest(o)
			return &pr, nil
		}
		e, resp, err := c.EditPullRequest(g.owner, g.name, o.Index, gitea.EditPullRequestOption{Title: p.Title, Body: &p.Body})
		if err != nil {
			return nil, fmt.Errorf("edit pull request #%d: %w", o.Index, classify(giteaHTTP(resp), err))
		}
		pr := giteaPullRequest(e)
		return &pr, nil
	}
	o, resp, err := c.CreatePullRequest(g.owner, g.name, gitea.CreatePullRequestOption{
		Head: p.Branch, Base: p.Base, Title: p.Title, Body: p.Body})
	if err != nil {
		return nil, fmt.Errorf("open the pull request: %w", classify(giteaHTTP(resp), err))
	}
	pr := giteaPullRequest(o)
	return &pr, nil
}

// branchHead returns a branch's head commit; false when there is no such branch.
func (g *giteaForge) branchHead(c *gitea.Client, branch string) (string, bool, error) {
	b, resp, err := c.GetRepoBranch(g.owner, g.name, branch)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, classify(giteaHTTP(resp), err)
	}
	if b.Commit == nil {
		return "", false, fmt.Errorf("branch %s has no commit", branch)
	}
	return b.Commit.ID, true, nil
}

// readFile reads a file through the contents API, which gives its blob SHA for an update.
func (g *giteaForge) readFile(c *gitea.Client) readFile {
	return func(ctx context.Context, ref, path string) (file, bool, error) {
		f, resp, err := c.GetContents(g.owner, g.name, ref, path)
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return file{}, false, nil
		}
		if err != nil {
			return file{}, false, classify(giteaHTTP(resp), err)
		}
		if f.Type != "file" || f.Content == nil {
			return file{}, false, fmt.Errorf("%s is a %s, not a file", path, f.Type)
		}
		b, err := base64.StdEncoding.DecodeString(*f.Content)
		if err != nil {
			return file{}, false, fmt.Errorf("decode %s: %w", path, err)
		}
		return file{Content: string(b), ID: f.SHA}, true, nil
	}
}
