package forge

import (
	"context"
	"fmt"
	"net/http"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/drplan/drplan/internal/revision"
)

// GitLab's limits: a note's body (1,000,000 characters), and a status description kept to
// one short line.
const (
	gitLabMaxComment     = 1_000_000
	gitLabMaxDescription = 255
	gitLabPageSize       = 100
)

// gitLab is the GitLab (gitlab.com or self-managed) provider. Merge requests are pull requests
// here, numbered by their IID.
type gitLab struct {
	c    *gitlab.Client
	repo string
	self selfCache
}

var _ Forge = (*gitLab)(nil)

func newGitLab(o Options, hc *http.Client) (*gitLab, error) {
	opts := []gitlab.ClientOptionFunc{
		gitlab.WithHTTPClient(hc),
		// Retries are the transport's, bounded by the caller's context like every forge's.
		gitlab.WithoutRetries(),
	}
	if o.URL != "" {
		opts = append(opts, gitlab.WithBaseURL(o.URL))
	}
	c, err := gitlab.NewClient(o.Token, opts...)
	if err != nil {
		return nil, fmt.Errorf("new gitlab forge for %s: %w", o.Repo, err)
	}
	return &gitLab{c: c, repo: o.Repo}, nil
}

func (g *gitLab) Kind() Kind         { return KindGitLab }
func (g *gitLab) MaxCommentLen() int { return gitLabMaxComment }

func (g *gitLab) OpenPullRequests(ctx context.Context, base string) ([]PullRequest, error) {
	opts := &gitlab.ListProjectMergeRequestsOptions{
		ListOptions:  gitlab.ListOptions{PerPage: gitLabPageSize},
		State:        gitlab.Ptr("opened"),
		TargetBranch: gitlab.Ptr(base),
		OrderBy:      gitlab.Ptr("created_at"),
		Sort:         gitlab.Ptr("asc"),
	}
	mrs, err := pages(func(page int) ([]*gitlab.BasicMergeRequest, int, error) {
		opts.Page = int64(page)
		l, resp, err := g.c.MergeRequests.ListProjectMergeRequests(g.repo, opts, gitlab.WithContext(ctx))
		return l, gitLabNext(resp), classify(gitLabHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list open merge requests of gitlab %s into %s: %w", g.repo, base, err)
	}
	out := make([]PullRequest, 0, len(mrs))
	for _, m := range mrs {
		out = append(out, gitLabPullRequest(m, ""))
	}
	return out, nil
}

// gitLabPullRequest maps a merge request; sha, when set, is the commit it is looked up for:
// the merge SHA is whichever of the merge and squash commits it is.
func gitLabPullRequest(m *gitlab.BasicMergeRequest, sha string) PullRequest {
	pr := PullRequest{
		Number:   int(m.IID),
		Title:    m.Title,
		URL:      m.WebURL,
		Base:     m.TargetBranch,
		HeadSHA:  m.SHA,
		HeadRef:  fmt.Sprintf("refs/merge-requests/%d/head", m.IID),
		Branch:   m.SourceBranch,
		Merged:   m.State == "merged",
		MergeSHA: m.MergeCommitSHA,
	}
	switch {
	case sha != "" && m.SquashCommitSHA == sha:
		pr.MergeSHA = sha
	case pr.MergeSHA == "" && m.SquashCommitSHA != "":
		pr.MergeSHA = m.SquashCommitSHA
	case pr.MergeSHA == "" && pr.Merged:
		// A fast-forward merge makes no commit: the base's new head is the merge request's.
		pr.MergeSHA = m.SHA
	}
	return pr
}

func (g *gitLab) ChangedFiles(ctx context.Context, number int) ([]string, error) {
	opts := &gitlab.ListMergeRequestDiffsOptions{ListOptions: gitlab.ListOptions{PerPage: gitLabPageSize}}
	diffs, err := pages(func(page int) ([]*gitlab.MergeRequestDiff, int, error) {
		opts.Page = int64(page)
		l, resp, err := g.c.MergeRequests.ListMergeRequestDiffs(g.repo, int64(number), opts, gitlab.WithContext(ctx))
		return l, gitLabNext(resp), classify(gitLabHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list files of gitlab merge request %s!%d: %w", g.repo, number, err)
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

func (g *gitLab) PullRequestForCommit(ctx context.Context, sha string) (*PullRequest, error) {
	mrs, resp, err := g.c.Commits.ListMergeRequestsByCommit(g.repo, sha, gitlab.WithContext(ctx))
	if err := classify(gitLabHTTP(resp), err); err != nil {
		return nil, fmt.Errorf("find the merge request of commit %s in gitlab %s: %w", revision.Short(sha), g.repo, err)
	}
	var merged []PullRequest
	for _, m := range mrs {
		if pr := gitLabPullRequest(m, sha); pr.Merged {
			merged = append(merged, pr)
		}
	}
	return pickMerged(merged, sha), nil
}

func (g *gitLab) login(ctx context.Context) (string, error) {
	return g.self.get(ctx, func(ctx context.Context) (string, error) {
		u, resp, err := g.c.Users.CurrentUser(gitlab.WithContext(ctx))
		if err != nil {
			return "", classify(gitLabHTTP(resp), err)
		}
		return u.Username, nil
	})
}

func (g *gitLab) UpsertComment(ctx context.Context, number int, marker string, render Render) (Comment, error) {
	self, err := g.login(ctx)
	if err != nil {
		return Comment{}, fmt.Errorf("upsert note on gitlab merge request %s!%d: %w", g.repo, number, err)
	}
	return upsert(ctx, &gitLabMRThread{g: g, iid: int64(number)}, self, marker, render)
}

func (g *gitLab) CommentOnCommit(ctx context.Context, sha, marker string, render Render) (Comment, error) {
	self, err := g.login(ctx)
	if err != nil {
		return Comment{}, fmt.Errorf("upsert comment on gitlab commit %s@%s: %w", g.repo, revision.Short(sha), err)
	}
	return upsert(ctx, &gitLabCommitThread{g: g, sha: sha}, self, marker, render)
}

// gitLabState maps a status state; GitLab has no "error".
func gitLabState(s State) gitlab.BuildStateValue {
	switch s {
	case StateSuccess:
		return gitlab.Success
	case StatePending:
		return gitlab.Pending
	default:
		return gitlab.Failed
	}
}

// SetCommitStatus sets a status, unless the commit's newest status of that name already says
// the same: GitLab refuses to move a pending status to pending again ("Cannot transition
// status"), so a pending status is not re-sent either, whatever its description.
func (g *gitLab) SetCommitStatus(ctx context.Context, sha string, st Status) error {
	state, desc := gitLabState(st.State), oneLine(st.Description, gitLabMaxDescription)
	cur, resp, err := g.c.Commits.GetCommitStatuses(g.repo, sha, &gitlab.GetCommitStatusesOptions{
		Name: gitlab.Ptr(st.Context), All: gitlab.Ptr(true), ListOptions: gitlab.ListOptions{PerPage: gitLabPageSize}},
		gitlab.WithContext(ctx))
	if err := classify(gitLabHTTP(resp), err); err != nil {
		return fmt.Errorf("read status %s of gitlab commit %s@%s: %w", st.Context, g.repo, revision.Short(sha), err)
	}
	if last := newestStatus(cur, st.Context); last != nil && last.Status == string(state) &&
		(state == gitlab.Pending || (last.Description == desc && last.TargetURL == st.TargetURL)) {
		return nil
	}
	opts := &gitlab.SetCommitStatusOptions{State: state, Name: gitlab.Ptr(st.Context), Description: gitlab.Ptr(desc)}
	if st.TargetURL != "" {
		opts.TargetURL = gitlab.Ptr(st.TargetURL)
	}
	_, resp, err = g.c.Commits.SetCommitStatus(g.repo, sha, opts, gitlab.WithContext(ctx))
	if err := classify(gitLabHTTP(resp), err); err != nil {
		return fmt.Errorf("set status %s on gitlab commit %s@%s: %w", st.Context, g.repo, revision.Short(sha), err)
	}
	return nil
}

// newestStatus returns the newest status of that name (the highest id).
func newestStatus(l []*gitlab.CommitStatus, name string) *gitlab.CommitStatus {
	var out *gitlab.CommitStatus
	for _, s := range l {
		if s.Name == name && (out == nil || s.ID > out.ID) {
			out = s
		}
	}
	return out
}

// gitLabMRThread is a merge request's notes.
type gitLabMRThread struct {
	g   *gitLab
	iid int64
}

func (t *gitLabMRThread) what() string {
	return fmt.Sprintf("gitlab merge request %s!%d", t.g.repo, t.iid)
}

func (t *gitLabMRThread) list(ctx context.Context) ([]note, error) {
	opts := &gitlab.ListMergeRequestNotesOptions{ListOptions: gitlab.ListOptions{PerPage: gitLabPageSize},
		OrderBy: gitlab.Ptr("created_at"), Sort: gitlab.Ptr("asc")}
	ns, err := pages(func(page int) ([]*gitlab.Note, int, error) {
		opts.Page = int64(page)
		l, resp, err := t.g.c.Notes.ListMergeRequestNotes(t.g.repo, t.iid, opts, gitlab.WithContext(ctx))
		return l, gitLabNext(resp), classify(gitLabHTTP(resp), err)
	})
	out := make([]note, 0, len(ns))
	for _, n := range ns {
		if !n.System {
			out = append(out, gitLabNote(n, ""))
		}
	}
	return out, err
}

func gitLabNote(n *gitlab.Note, discussion string) note {
	return note{ID: n.ID, Body: n.Body, Author: n.Author.Username, Discussion: discussion}
}

func (t *gitLabMRThread) create(ctx context.Context, body string) (note, error) {
	n, resp, err := t.g.c.Notes.CreateMergeRequestNote(t.g.repo, t.iid, &gitlab.CreateMergeRequestNoteOptions{Body: &body}, gitlab.WithContext(ctx))
	if err != nil {
		return note{}, classify(gitLabHTTP(resp), err)
	}
	return gitLabNote(n, ""), nil
}

func (t *gitLabMRThread) edit(ctx context.Context, n note, body string) (note, error) {
	u, resp, err := t.g.c.Notes.UpdateMergeRequestNote(t.g.repo, t.iid, n.ID, &gitlab.UpdateMergeRequestNoteOptions{Body: &body}, gitlab.WithContext(ctx))
	if err != nil {
		return note{}, classify(gitLabHTTP(resp), err)
	}
	return gitLabNote(u, ""), nil
}

func (t *gitLabMRThread) remove(ctx context.Context, n note) error {
	resp, err := t.g.c.Notes.DeleteMergeRequestNote(t.g.repo, t.iid, n.ID, gitlab.WithContext(ctx))
	return classify(gitLabHTTP(resp), err)
}

// gitLabCommitThread is a commit's discussions; the agent's comment is the first note of one.
type gitLabCommitThread struct {
	g   *gitLab
	sha string
}

func (t *gitLabCommitThread) what() string {
	return fmt.Sprintf("gitlab commit %s@%s", t.g.repo, revision.Short(t.sha))
}

func (t *gitLabCommitThread) list(ctx context.Context) ([]note, error) {
	opts := &gitlab.ListCommitDiscussionsOptions{ListOptions: gitlab.ListOptions{PerPage: gitLabPageSize}}
	ds, err := pages(func(page int) ([]*gitlab.Discussion, int, error) {
		opts.Page = int64(page)
		l, resp, err := t.g.c.Discussions.ListCommitDiscussions(t.g.repo, t.sha, opts, gitlab.WithContext(ctx))
		return l, gitLabNext(resp), classify(gitLabHTTP(resp), err)
	})
	var out []note
	for _, d := range ds {
		if len(d.Notes) > 0 && !d.Notes[0].System {
			out = append(out, gitLabNote(d.Notes[0], d.ID))
		}
	}
	return out, err
}

func (t *gitLabCommitThread) create(ctx context.Context, body string) (note, error) {
	d, resp, err := t.g.c.Discussions.CreateCommitDiscussion(t.g.repo, t.sha, &gitlab.CreateCommitDiscussionOptions{Body: &body}, gitlab.WithContext(ctx))
	if err != nil {
		return note{}, classify(gitLabHTTP(resp), err)
	}
	if len(d.Notes) == 0 {
		return note{Body: body, Discussion: d.ID}, nil
	}
	return gitLabNote(d.Notes[0], d.ID), nil
}

func (t *gitLabCommitThread) edit(ctx context.Context, n note, body string) (note, error) {
	u, resp, err := t.g.c.Discussions.UpdateCommitDiscussionNote(t.g.repo, t.sha, n.Discussion, n.ID,
		&gitlab.UpdateCommitDiscussionNoteOptions{Body: &body}, gitlab.WithContext(ctx))
	if err != nil {
		return note{}, classify(gitLabHTTP(resp), err)
	}
	return gitLabNote(u, n.Discussion), nil
}

func (t *gitLabCommitThread) remove(ctx context.Context, n note) error {
	resp, err := t.g.c.Discussions.DeleteCommitDiscussionNote(t.g.repo, t.sha, n.Discussion, n.ID, gitlab.WithContext(ctx))
	return classify(gitLabHTTP(resp), err)
}

func gitLabNext(resp *gitlab.Response) int {
	if resp == nil {
		return 0
	}
	return int(resp.NextPage)
}

func gitLabHTTP(resp *gitlab.Response) *reply {
	if resp == nil {
		return nil
	}
	return replyOf(resp.Response)
}
