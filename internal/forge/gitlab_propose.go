package forge

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/drplan/drplan/internal/revision"
)

// ProposeChange writes the files with one commit of GitLab's commit actions, started from the
// base's head as read (start_sha: the actions create or update each file as it is there) and
// forced onto the branch.
func (g *gitLab) ProposeChange(ctx context.Context, p Proposal) (*PullRequest, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("propose %s into %s in gitlab %s: %w", p.Branch, p.Base, g.repo, err)
	}
	head, err := g.proposeCommit(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("propose %s into %s in gitlab %s: %w", p.Branch, p.Base, g.repo, err)
	}
	if head == "" {
		return nil, nil
	}
	pr, err := g.proposeMergeRequest(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("propose %s into %s in gitlab %s: %w", p.Branch, p.Base, g.repo, err)
	}
	pr.HeadSHA = head
	return pr, nil
}

// proposeCommit keeps the branch at the proposal's commit on the base's head and returns it;
// "" when the base holds the files already.
func (g *gitLab) proposeCommit(ctx context.Context, p Proposal) (string, error) {
	base, ok, err := g.branchHead(ctx, p.Base)
	if err == nil && !ok {
		err = ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read branch %s: %w", p.Base, err)
	}
	onBase, err := p.read(ctx, base.ID, g.readFile)
	if err != nil {
		return "", err
	}
	want := p.changes(onBase)
	if len(want) == 0 {
		return "", nil
	}
	head, exists, err := g.branchHead(ctx, p.Branch)
	if err != nil {
		return "", fmt.Errorf("read branch %s: %w", p.Branch, err)
	}
	if exists && len(head.ParentIDs) == 1 && head.ParentIDs[0] == base.ID {
		changed, err := g.changedPaths(ctx, head.ID)
		if err != nil {
			return "", err
		}
		if onTop(base.ID, head.ParentIDs, changed, want) {
			onBranch, err := p.read(ctx, head.ID, g.readFile)
			if err != nil {
				return "", err
			}
			if len(p.changes(onBranch)) == 0 {
				return head.ID, nil
			}
		}
	}
	actions := make([]*gitlab.CommitActionOptions, 0, len(want))
	for _, f := range want {
		action := gitlab.FileCreate
		if _, ok := onBase[f]; ok {
			action = gitlab.FileUpdate
		}
		actions = append(actions, &gitlab.CommitActionOptions{Action: gitlab.Ptr(action), FilePath: gitlab.Ptr(f),
			Content: gitlab.Ptr(p.Files[f])})
	}
	cm, resp, err := g.c.Commits.CreateCommit(g.repo, &gitlab.CreateCommitOptions{
		Branch: gitlab.Ptr(p.Branch), StartSHA: gitlab.Ptr(base.ID), Force: gitlab.Ptr(true),
		CommitMessage: gitlab.Ptr(p.Message), Actions: actions}, gitlab.WithContext(ctx))
	if err := classify(gitLabHTTP(resp), err); err != nil {
		return "", fmt.Errorf("commit %d files to branch %s: %w", len(actions), p.Branch, err)
	}
	return cm.ID, nil
}

// proposeMergeRequest opens the merge request from the branch, or brings the open one's title
// and description up to date.
func (g *gitLab) proposeMergeRequest(ctx context.Context, p Proposal) (*PullRequest, error) {
	mrs, resp, err := g.c.MergeRequests.ListProjectMergeRequests(g.repo, &gitlab.ListProjectMergeRequestsOptions{
		ListOptions: gitlab.ListOptions{PerPage: gitLabPageSize}, State: gitlab.Ptr("opened"),
		SourceBranch: gitlab.Ptr(p.Branch), TargetBranch: gitlab.Ptr(p.Base)}, gitlab.WithContext(ctx))
	if err := classify(gitLabHTTP(resp), err); err != nil {
		return nil, fmt.Errorf("list open merge requests from %s: %w", p.Branch, err)
	}
	for _, o := range mrs {
		// A fork's branch of the same name is not the agent's.
		if o.SourceProjectID != o.TargetProjectID {
			continue
		}
		if !p.outdated(o.Title, o.Description) {
			pr := gitLabPullRequest(o, "")
			return &pr, nil
		}
		e, resp, err := g.c.MergeRequests.UpdateMergeRequest(g.repo, o.IID, &gitlab.UpdateMergeRequestOptions{
			Title: gitlab.Ptr(p.Title), Description: gitlab.Ptr(p.Body)}, gitlab.WithContext(ctx))
		if err := classify(gitLabHTTP(resp), err); err != nil {
			return nil, fmt.Errorf("edit merge request !%d: %w", o.IID, err)
		}
		pr := gitLabPullRequest(&e.BasicMergeRequest, "")
		return &pr, nil
	}
	o, resp, err := g.c.MergeRequests.CreateMergeRequest(g.repo, &gitlab.CreateMergeRequestOptions{
		Title: gitlab.Ptr(p.Title), Description: gitlab.Ptr(p.Body),
		SourceBranch: gitlab.Ptr(p.Branch), TargetBranch: gitlab.Ptr(p.Base)}, gitlab.WithContext(ctx))
	if err := classify(gitLabHTTP(resp), err); err != nil {
		return nil, fmt.Errorf("open the merge request: %w", err)
	}
	pr := gitLabPullRequest(&o.BasicMergeRequest, "")
	return &pr, nil
}

// branchHead returns a branch's head commit; false when there is no such branch.
func (g *gitLab) branchHead(ctx context.Context, branch string) (*gitlab.Commit, bool, error) {
	b, resp, err := g.c.Branches.GetBranch(g.repo, branch, gitlab.WithContext(ctx))
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil, false, nil
	}
	if err := classify(gitLabHTTP(resp), err); err != nil {
		return nil, false, err
	}
	if b.Commit == nil {
		return nil, false, fmt.Errorf("branch %s has no commit", branch)
	}
	return b.Commit, true, nil
}

// changedPaths lists the paths a commit changes against its parent.
func (g *gitLab) changedPaths(ctx context.Context, sha string) ([]string, error) {
	opts := &gitlab.GetCommitDiffOptions{ListOptions: gitlab.ListOptions{PerPage: gitLabPageSize}}
	diffs, err := pages(func(page int) ([]*gitlab.Diff, int, error) {
		opts.Page = int64(page)
		l, resp, err := g.c.Commits.GetCommitDiff(g.repo, sha, opts, gitlab.WithContext(ctx))
		return l, gitLabNext(resp), classify(gitLabHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list files of commit %s: %w", revision.Short(sha), err)
	}
	var out []string
	for _, d := range diffs {
		out = append(out, d.NewPath)
		if d.OldPath != "" && d.OldPath != d.NewPath {
			out = append(out, d.OldPath)
		}
	}
	return out, nil
}

// readFile reads a file through the repository files API.
func (g *gitLab) readFile(ctx context.Context, ref, path string) (file, bool, error) {
	f, resp, err := g.c.RepositoryFiles.GetFile(g.repo, path, &gitlab.GetFileOptions{Ref: gitlab.Ptr(ref)}, gitlab.WithContext(ctx))
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return file{}, false, nil
	}
	if err := classify(gitLabHTTP(resp), err); err != nil {
		return file{}, false, err
	}
	if f.Encoding != "base64" {
		return file{Content: f.Content, ID: f.BlobID}, true, nil
	}
	b, err := base64.StdEncoding.DecodeString(f.Content)
	if err != nil {
		return file{}, false, fmt.Errorf("decode %s: %w", path, err)
	}
	return file{Content: string(b), ID: f.BlobID}, true, nil
}
