package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v84/github"

	"github.com/drplan/drplan/internal/revision"
)

// GitHub's limits: an issue comment's body, and a commit status's description.
const (
	gitHubMaxComment     = 65536
	gitHubMaxDescription = 140
)

// gitHub is the GitHub (github.com or Enterprise Server) provider.
type gitHub struct {
	c           *github.Client
	owner, name string
	self        selfCache
}

var _ Forge = (*gitHub)(nil)

func newGitHub(o Options, owner, name string, hc *http.Client) (*gitHub, error) {
	c := github.NewClient(hc).WithAuthToken(o.Token)
	if o.URL != "" && !isGitHubDotCom(o.URL) {
		var err error
		if c, err = c.WithEnterpriseURLs(o.URL, o.URL); err != nil {
			return nil, fmt.Errorf("new github forge for %s: base url: %w", o.Repo, err)
		}
	}
	return &gitHub{c: c, owner: owner, name: name}, nil
}

// isGitHubDotCom reports whether u is github.com's API, which takes no /api/v3/ suffix.
func isGitHubDotCom(u string) bool {
	u = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"), "/")
	return u == "github.com" || u == "api.github.com"
}

func (g *gitHub) Kind() Kind         { return KindGitHub }
func (g *gitHub) MaxCommentLen() int { return gitHubMaxComment }
func (g *gitHub) repo() string       { return g.owner + "/" + g.name }

func (g *gitHub) OpenPullRequests(ctx context.Context, base string) ([]PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "open", Base: base, Sort: "created", Direction: "asc",
		ListOptions: github.ListOptions{PerPage: 100}}
	prs, err := pages(func(page int) ([]*github.PullRequest, int, error) {
		opts.Page = page
		l, resp, err := g.c.PullRequests.List(ctx, g.owner, g.name, opts)
		return l, nextPage(resp), classify(httpResponse(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list open pull requests of github %s into %s: %w", g.repo(), base, err)
	}
	out := make([]PullRequest, 0, len(prs))
	for _, p := range prs {
		out = append(out, gitHubPullRequest(p))
	}
	return out, nil
}

func gitHubPullRequest(p *github.PullRequest) PullRequest {
	n := p.GetNumber()
	return PullRequest{
		Number:   n,
		Title:    p.GetTitle(),
		URL:      p.GetHTMLURL(),
		Base:     p.GetBase().GetRef(),
		HeadSHA:  p.GetHead().GetSHA(),
		HeadRef:  fmt.Sprintf("refs/pull/%d/head", n),
		Branch:   p.GetHead().GetRef(),
		Merged:   p.MergedAt != nil,
		MergeSHA: p.GetMergeCommitSHA(),
	}
}

func (g *gitHub) ChangedFiles(ctx context.Context, number int) ([]string, error) {
	opts := &github.ListOptions{PerPage: 100}
	files, err := pages(func(page int) ([]*github.CommitFile, int, error) {
		opts.Page = page
		l, resp, err := g.c.PullRequests.ListFiles(ctx, g.owner, g.name, number, opts)
		return l, nextPage(resp), classify(httpResponse(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list files of github pull request %s#%d: %w", g.repo(), number, err)
	}
	var out []string
	for _, f := range files {
		out = append(out, f.GetFilename())
		if prev := f.GetPreviousFilename(); prev != "" {
			out = append(out, prev)
		}
	}
	return out, nil
}

func (g *gitHub) PullRequestForCommit(ctx context.Context, sha string) (*PullRequest, error) {
	opts := &github.ListOptions{PerPage: 100}
	prs, err := pages(func(page int) ([]*github.PullRequest, int, error) {
		opts.Page = page
		l, resp, err := g.c.PullRequests.ListPullRequestsWithCommit(ctx, g.owner, g.name, sha, opts)
		return l, nextPage(resp), classify(httpResponse(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("find the pull request of commit %s in github %s: %w", revision.Short(sha), g.repo(), err)
	}
	var merged []PullRequest
	for _, p := range prs {
		if p.MergedAt != nil {
			merged = append(merged, gitHubPullRequest(p))
		}
	}
	return pickMerged(merged, sha), nil
}

// pickMerged prefers the pull request whose merge made sha, then the first merged one.
func pickMerged(prs []PullRequest, sha string) *PullRequest {
	for i := range prs {
		if prs[i].Merged && prs[i].MergeSHA == sha {
			return &prs[i]
		}
	}
	for i := range prs {
		if prs[i].Merged {
			return &prs[i]
		}
	}
	return nil
}

func (g *gitHub) login(ctx context.Context) (string, error) {
	return g.self.get(ctx, func(ctx context.Context) (string, error) {
		u, resp, err := g.c.Users.Get(ctx, "")
		if err != nil {
			return "", classify(httpResponse(resp), err)
		}
		return u.GetLogin(), nil
	})
}

func (g *gitHub) UpsertComment(ctx context.Context, number int, marker string, render Render) (Comment, error) {
	self, err := g.login(ctx)
	if err != nil {
		return Comment{}, fmt.Errorf("upsert comment on github pull request %s#%d: %w", g.repo(), number, err)
	}
	return upsert(ctx, &gitHubIssueThread{g: g, number: number}, self, marker, render)
}

func (g *gitHub) CommentOnCommit(ctx context.Context, sha, marker string, render Render) (Comment, error) {
	self, err := g.login(ctx)
	if err != nil {
		return Comment{}, fmt.Errorf("upsert comment on github commit %s@%s: %w", g.repo(), revision.Short(sha), err)
	}
	return upsert(ctx, &gitHubCommitThread{g: g, sha: sha}, self, marker, render)
}

func (g *gitHub) SetCommitStatus(ctx context.Context, sha string, st Status) error {
	s := github.RepoStatus{
		State:       github.Ptr(string(st.State)),
		Context:     github.Ptr(st.Context),
		Description: github.Ptr(oneLine(st.Description, gitHubMaxDescription)),
	}
	if st.TargetURL != "" {
		s.TargetURL = github.Ptr(st.TargetURL)
	}
	_, resp, err := g.c.Repositories.CreateStatus(ctx, g.owner, g.name, sha, s)
	if err != nil {
		return fmt.Errorf("set status %s on github commit %s@%s: %w", st.Context, g.repo(), revision.Short(sha), classify(httpResponse(resp), err))
	}
	return nil
}

// gitHubIssueThread is a pull request's conversation (its issue comments).
type gitHubIssueThread struct {
	g      *gitHub
	number int
}

func (t *gitHubIssueThread) what() string {
	return fmt.Sprintf("github pull request %s#%d", t.g.repo(), t.number)
}

func (t *gitHubIssueThread) list(ctx context.Context) ([]note, error) {
	opts := &github.IssueListCommentsOptions{Sort: github.Ptr("created"), Direction: github.Ptr("asc"),
		ListOptions: github.ListOptions{PerPage: 100}}
	cs, err := pages(func(page int) ([]*github.IssueComment, int, error) {
		opts.Page = page
		l, resp, err := t.g.c.Issues.ListComments(ctx, t.g.owner, t.g.name, t.number, opts)
		return l, nextPage(resp), classify(httpResponse(resp), err)
	})
	out := make([]note, 0, len(cs))
	for _, c := range cs {
		out = append(out, gitHubIssueNote(c))
	}
	return out, err
}

func gitHubIssueNote(c *github.IssueComment) note {
	return note{ID: c.GetID(), Body: c.GetBody(), URL: c.GetHTMLURL(), Author: c.GetUser().GetLogin()}
}

func (t *gitHubIssueThread) create(ctx context.Context, body string) (note, error) {
	c, resp, err := t.g.c.Issues.CreateComment(ctx, t.g.owner, t.g.name, t.number, &github.IssueComment{Body: &body})
	if err != nil {
		return note{}, classify(httpResponse(resp), err)
	}
	return gitHubIssueNote(c), nil
}

func (t *gitHubIssueThread) edit(ctx context.Context, n note, body string) (note, error) {
	c, resp, err := t.g.c.Issues.EditComment(ctx, t.g.owner, t.g.name, n.ID, &github.IssueComment{Body: &body})
	if err != nil {
		return note{}, classify(httpResponse(resp), err)
	}
	return gitHubIssueNote(c), nil
}

func (t *gitHubIssueThread) remove(ctx context.Context, n note) error {
	resp, err := t.g.c.Issues.DeleteComment(ctx, t.g.owner, t.g.name, n.ID)
	return classify(httpResponse(resp), err)
}

// gitHubCommitThread is a commit's comments.
type gitHubCommitThread struct {
	g   *gitHub
	sha string
}

func (t *gitHubCommitThread) what() string {
	return fmt.Sprintf("github commit %s@%s", t.g.repo(), revision.Short(t.sha))
}

func (t *gitHubCommitThread) list(ctx context.Context) ([]note, error) {
	opts := &github.ListOptions{PerPage: 100}
	cs, err := pages(func(page int) ([]*github.RepositoryComment, int, error) {
		opts.Page = page
		l, resp, err := t.g.c.Repositories.ListCommitComments(ctx, t.g.owner, t.g.name, t.sha, opts)
		return l, nextPage(resp), classify(httpResponse(resp), err)
	})
	out := make([]note, 0, len(cs))
	for _, c := range cs {
		out = append(out, gitHubCommitNote(c))
	}
	return out, err
}

func gitHubCommitNote(c *github.RepositoryComment) note {
	return note{ID: c.GetID(), Body: c.GetBody(), URL: c.GetHTMLURL(), Author: c.GetUser().GetLogin()}
}

func (t *gitHubCommitThread) create(ctx context.Context, body string) (note, error) {
	c, resp, err := t.g.c.Repositories.CreateComment(ctx, t.g.owner, t.g.name, t.sha, &github.RepositoryComment{Body: &body})
	if err != nil {
		return note{}, classify(httpResponse(resp), err)
	}
	return gitHubCommitNote(c), nil
}

func (t *gitHubCommitThread) edit(ctx context.Context, n note, body string) (note, error) {
	c, resp, err := t.g.c.Repositories.UpdateComment(ctx, t.g.owner, t.g.name, n.ID, &github.RepositoryComment{Body: &body})
	if err != nil {
		return note{}, classify(httpResponse(resp), err)
	}
	return gitHubCommitNote(c), nil
}

func (t *gitHubCommitThread) remove(ctx context.Context, n note) error {
	resp, err := t.g.c.Repositories.DeleteComment(ctx, t.g.owner, t.g.name, n.ID)
	return classify(httpResponse(resp), err)
}

func nextPage(resp *github.Response) int {
	if resp == nil {
		return 0
	}
	return resp.NextPage
}

func httpResponse(resp *github.Response) *reply {
	if resp == nil {
		return nil
	}
	return replyOf(resp.Response)
}
