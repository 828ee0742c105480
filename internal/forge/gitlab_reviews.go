package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// gitLabApprovals is the part drplan reads of GET /projects/:id/merge_requests/:iid/approvals.
// approved_at is sent by GitLab releases since late 2025 (gitlab-org/gitlab!204605); the
// client library does not read it yet.
type gitLabApprovals struct {
	ApprovedBy []struct {
		User struct {
			Username string `json:"username"`
		} `json:"user"`
		ApprovedAt *time.Time `json:"approved_at"`
	} `json:"approved_by"`
}

// Reviews returns a merge request's current approvals, as ReviewApproved. GitLab keeps no
// review history here: an approval withdrawn is gone, and there are no change requests.
//
// Whether an approval came after the last push: GitLab removes all approvals on a push only
// when the project says so ("Remove all approvals when commits are added to the source
// branch", reset_approvals_on_push, a Premium setting), and says nothing of the commit an
// approval was given on. When GitLab sends approved_at (recent releases), an approval's
// CommitSHA is the head of the merge request's newest diff version created at or before it
// (a push makes a version, a few seconds after it), so Approvers counts only approvals given
// after the last push, whatever the project's setting; an approval older than every version
// is marked Stale. Without approved_at, CommitSHA is empty and the approval is taken as
// current: then only the project's setting keeps an approval from outliving a push, drplan
// cannot tell whether it is on, and even when it is GitLab removes the approvals some seconds
// after the push, not with it.
func (g *gitLab) Reviews(ctx context.Context, number int) ([]Review, error) {
	req, err := g.c.NewRequest(http.MethodGet, fmt.Sprintf("projects/%s/merge_requests/%d/approvals",
		gitlab.PathEscape(g.repo), number), nil, []gitlab.RequestOptionFunc{gitlab.WithContext(ctx)})
	if err != nil {
		return nil, fmt.Errorf("list approvals of gitlab merge request %s!%d: %w", g.repo, number, err)
	}
	var a gitLabApprovals
	resp, err := g.c.Do(req, &a)
	if err := classify(gitLabHTTP(resp), err); err != nil {
		return nil, fmt.Errorf("list approvals of gitlab merge request %s!%d: %w", g.repo, number, err)
	}
	var versions []*gitlab.MergeRequestDiffVersion
	for _, ab := range a.ApprovedBy {
		if ab.ApprovedAt != nil {
			if versions, err = g.diffVersions(ctx, number); err != nil {
				return nil, err
			}
			break
		}
	}
	out := make([]Review, 0, len(a.ApprovedBy))
	for _, ab := range a.ApprovedBy {
		r := Review{User: ab.User.Username, State: ReviewApproved}
		if ab.ApprovedAt != nil {
			r.SubmittedAt = *ab.ApprovedAt
			r.CommitSHA = headAt(versions, *ab.ApprovedAt)
			r.Stale = r.CommitSHA == ""
		}
		out = append(out, r)
	}
	return out, nil
}

// diffVersions lists a merge request's diff versions: one per push, with its head commit.
func (g *gitLab) diffVersions(ctx context.Context, number int) ([]*gitlab.MergeRequestDiffVersion, error) {
	opts := &gitlab.GetMergeRequestDiffVersionsOptions{ListOptions: gitlab.ListOptions{PerPage: gitLabPageSize}}
	vs, err := pages(func(page int) ([]*gitlab.MergeRequestDiffVersion, int, error) {
		opts.Page = int64(page)
		l, resp, err := g.c.MergeRequests.GetMergeRequestDiffVersions(g.repo, int64(number), opts, gitlab.WithContext(ctx))
		return l, gitLabNext(resp), classify(gitLabHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list diff versions of gitlab merge request %s!%d: %w", g.repo, number, err)
	}
	return vs, nil
}

// headAt returns the head commit of the newest diff version created at or before t: the head
// an approval given at t was given on; "" when no version is that old.
func headAt(versions []*gitlab.MergeRequestDiffVersion, t time.Time) string {
	var at time.Time
	head := ""
	for _, v := range versions {
		if v.CreatedAt == nil || v.CreatedAt.After(t) || v.HeadCommitSHA == "" {
			continue
		}
		if head == "" || v.CreatedAt.After(at) {
			at, head = *v.CreatedAt, v.HeadCommitSHA
		}
	}
	return head
}

// TeamMembers lists the members of the group at the path team (group or group/subgroup), those
// inherited from its parent groups and those of groups invited to it included (GitLab's
// members/all). Blocked and deactivated users are left out.
func (g *gitLab) TeamMembers(ctx context.Context, team string) ([]string, error) {
	path := strings.Trim(team, "/")
	if path == "" {
		return nil, fmt.Errorf("list members of gitlab group %q: no group path", team)
	}
	opts := &gitlab.ListGroupMembersOptions{ListOptions: gitlab.ListOptions{PerPage: gitLabPageSize}}
	ms, err := pages(func(page int) ([]*gitlab.GroupMember, int, error) {
		opts.Page = int64(page)
		l, resp, err := g.c.Groups.ListAllGroupMembers(path, opts, gitlab.WithContext(ctx))
		return l, gitLabNext(resp), classify(gitLabHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list members of gitlab group %s: %w", path, err)
	}
	logins := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.State == "" || m.State == "active" {
			logins = append(logins, m.Username)
		}
	}
	return uniqueSorted(logins), nil
}
