package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"code.gitea.io/sdk/gitea"

	"github.com/drplan/drplan/internal/revision"
)

// Gitea's limits. Its API (1.26) sets none on a comment's body (stored as LONGTEXT; the form
// only requires a body) nor on a status's description (TEXT): drplan keeps GitLab's million
// characters, and a status line as short as a sentence.
const (
	giteaMaxComment     = 1_000_000
	giteaMaxDescription = 255
	giteaPageSize       = 50 // Gitea's default MAX_RESPONSE_ITEMS
)

// giteaForge is the Gitea provider.
type giteaForge struct {
	url, token  string
	owner, name string
	hc          *http.Client
	self        selfCache
}

var _ Forge = (*giteaForge)(nil)

func newGitea(o Options, owner, name string, hc *http.Client) (*giteaForge, error) {
	if o.URL == "" {
		return nil, fmt.Errorf("new gitea forge for %s: no url", o.Repo)
	}
	return &giteaForge{url: strings.TrimSuffix(o.URL, "/"), token: o.Token, owner: owner, name: name, hc: hc}, nil
}

// client returns an SDK client bound to ctx: the SDK takes its context per client, not per
// call, so each call gets its own (a cheap struct; the HTTP client and its connections are
// shared). The server version is not asked: drplan needs Gitea 1.21 or newer.
func (g *giteaForge) client(ctx context.Context) (*gitea.Client, error) {
	c, err := gitea.NewClient(g.url, gitea.SetHTTPClient(g.hc), gitea.SetToken(g.token),
		gitea.SetContext(ctx), gitea.SetGiteaVersion(""))
	if err != nil {
		return nil, fmt.Errorf("gitea client for %s: %w", g.url, err)
	}
	return c, nil
}

func (g *giteaForge) Kind() Kind         { return KindGitea }
func (g *giteaForge) MaxCommentLen() int { return giteaMaxComment }
func (g *giteaForge) repo() string       { return g.owner + "/" + g.name }

func (g *giteaForge) OpenPullRequests(ctx context.Context, base string) ([]PullRequest, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	prs, err := pages(func(page int) ([]*gitea.PullRequest, int, error) {
		l, resp, err := c.ListRepoPullRequests(g.owner, g.name, gitea.ListPullRequestsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize}, State: gitea.StateOpen, Sort: "oldest"})
		return l, giteaNext(resp), classify(giteaHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list open pull requests of gitea %s into %s: %w", g.repo(), base, err)
	}
	var out []PullRequest
	for _, p := range prs {
		// Gitea's list takes no base filter.
		if p.Base != nil && p.Base.Ref == base {
			out = append(out, giteaPullRequest(p))
		}
	}
	return out, nil
}

func giteaPullRequest(p *gitea.PullRequest) PullRequest {
	pr := PullRequest{
		Number:  int(p.Index),
		Title:   p.Title,
		URL:     p.HTMLURL,
		HeadRef: fmt.Sprintf("refs/pull/%d/head", p.Index),
		Merged:  p.HasMerged,
	}
	if p.Base != nil {
		pr.Base = p.Base.Ref
	}
	if p.Head != nil {
		pr.HeadSHA, pr.Branch = p.Head.Sha, p.Head.Ref
	}
	if p.MergedCommitID != nil {
		pr.MergeSHA = *p.MergedCommitID
	}
	return pr
}

func (g *giteaForge) ChangedFiles(ctx context.Context, number int) ([]string, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	files, err := pages(func(page int) ([]*gitea.ChangedFile, int, error) {
		l, resp, err := c.ListPullRequestFiles(g.owner, g.name, int64(number), gitea.ListPullRequestFilesOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize}})
		return l, giteaNext(resp), classify(giteaHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list files of gitea pull request %s#%d: %w", g.repo(), number, err)
	}
	var out []string
	for _, f := range files {
		out = append(out, f.Filename)
		if f.PreviousFilename != "" && f.PreviousFilename != f.Filename {
			out = append(out, f.PreviousFilename)
		}
	}
	return out, nil
}

// PullRequestForCommit asks Gitea for the pull request whose merge commit is sha (for a
// rebase or fast-forward merge, the base branch's new head).
func (g *giteaForge) PullRequestForCommit(ctx context.Context, sha string) (*PullRequest, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	p, resp, err := c.GetCommitPullRequest(g.owner, g.name, sha)
	if err = classify(giteaHTTP(resp), err); err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("find the pull request of commit %s in gitea %s: %w", revision.Short(sha), g.repo(), err)
	}
	if !p.HasMerged {
		return nil, nil
	}
	pr := giteaPullRequest(p)
	return &pr, nil
}

func (g *giteaForge) login(ctx context.Context) (string, error) {
	return g.self.get(ctx, func(ctx context.Context) (string, error) {
		c, err := g.client(ctx)
		if err != nil {
			return "", err
		}
		u, resp, err := c.GetMyUserInfo()
		if err != nil {
			return "", classify(giteaHTTP(resp), err)
		}
		return u.UserName, nil
	})
}

func (g *giteaForge) UpsertComment(ctx context.Context, number int, marker string, render Render) (Comment, error) {
	self, err := g.login(ctx)
	if err != nil {
		return Comment{}, fmt.Errorf("upsert comment on gitea pull request %s#%d: %w", g.repo(), number, err)
	}
	c, err := g.client(ctx)
	if err != nil {
		return Comment{}, err
	}
	return upsert(ctx, &giteaThread{g: g, c: c, number: int64(number)}, self, marker, render)
}

// CommentOnCommit is not supported: Gitea's API has no commit comments.
func (g *giteaForge) CommentOnCommit(ctx context.Context, sha, marker string, render Render) (Comment, error) {
	return Comment{}, fmt.Errorf("comment on gitea commit %s@%s: %w", g.repo(), revision.Short(sha), ErrNotSupported)
}

func (g *giteaForge) SetCommitStatus(ctx context.Context, sha string, st Status) error {
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	_, resp, err := c.CreateStatus(g.owner, g.name, sha, gitea.CreateStatusOption{
		State:       gitea.StatusState(st.State),
		TargetURL:   st.TargetURL,
		Description: oneLine(st.Description, giteaMaxDescription),
		Context:     st.Context,
	})
	if err != nil {
		return fmt.Errorf("set status %s on gitea commit %s@%s: %w", st.Context, g.repo(), revision.Short(sha), classify(giteaHTTP(resp), err))
	}
	return nil
}

// giteaThread is a pull request's conversation.
type giteaThread struct {
	g      *giteaForge
	c      *gitea.Client
	number int64
}

func (t *giteaThread) what() string {
	return fmt.Sprintf("gitea pull request %s#%d", t.g.repo(), t.number)
}

func (t *giteaThread) list(ctx context.Context) ([]note, error) {
	cs, err := pages(func(page int) ([]*gitea.Comment, int, error) {
		l, resp, err := t.c.ListIssueComments(t.g.owner, t.g.name, t.number, gitea.ListIssueCommentOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize}})
		return l, giteaNext(resp), classify(giteaHTTP(resp), err)
	})
	out := make([]note, 0, len(cs))
	for _, c := range cs {
		out = append(out, giteaNote(c))
	}
	return out, err
}

func giteaNote(c *gitea.Comment) note {
	n := note{ID: c.ID, Body: c.Body, URL: c.HTMLURL}
	if c.Poster != nil {
		n.Author = c.Poster.UserName
	}
	return n
}

func (t *giteaThread) create(ctx context.Context, body string) (note, error) {
	c, resp, err := t.c.CreateIssueComment(t.g.owner, t.g.name, t.number, gitea.CreateIssueCommentOption{Body: body})
	if err != nil {
		return note{}, classify(giteaHTTP(resp), err)
	}
	return giteaNote(c), nil
}

func (t *giteaThread) edit(ctx context.Context, n note, body string) (note, error) {
	c, resp, err := t.c.EditIssueComment(t.g.owner, t.g.name, n.ID, gitea.EditIssueCommentOption{Body: body})
	if err != nil {
		return note{}, classify(giteaHTTP(resp), err)
	}
	return giteaNote(c), nil
}

func (t *giteaThread) remove(ctx context.Context, n note) error {
	resp, err := t.c.DeleteIssueComment(t.g.owner, t.g.name, n.ID)
	return classify(giteaHTTP(resp), err)
}

func giteaNext(resp *gitea.Response) int {
	if resp == nil {
		return 0
	}
	return resp.NextPage
}

func giteaHTTP(resp *gitea.Response) *reply {
	if resp == nil {
		return nil
	}
	return replyOf(resp.Response)
}
