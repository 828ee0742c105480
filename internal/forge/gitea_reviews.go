package forge

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"code.gitea.io/sdk/gitea"
)

// Reviews lists a pull request's reviews. Gitea gives each the head it was given on
// (commit_id) and marks it stale when a later push changed the pull request; a dismissed
// review (by a maintainer, or on push when the branch protection dismisses stale approvals)
// keeps its verdict with dismissed set, and is returned as ReviewDismissed. Review requests
// and pending (draft) reviews are left out.
func (g *giteaForge) Reviews(ctx context.Context, number int) ([]Review, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := pages(func(page int) ([]*gitea.PullReview, int, error) {
		l, resp, err := c.ListPullReviews(g.owner, g.name, int64(number), gitea.ListPullReviewsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize}})
		return l, giteaNext(resp), classify(giteaHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list reviews of gitea pull request %s#%d: %w", g.repo(), number, err)
	}
	var out []Review
	for _, r := range rs {
		if rv, ok := giteaReview(r); ok {
			out = append(out, rv)
		}
	}
	return out, nil
}

// giteaReview maps a review; false for what is not a submitted review of a user's.
func giteaReview(r *gitea.PullReview) (Review, bool) {
	if r.Reviewer == nil {
		// A review requested from a team.
		return Review{}, false
	}
	rv := Review{User: r.Reviewer.UserName, CommitSHA: r.CommitID, Stale: r.Stale, SubmittedAt: r.Submitted}
	switch {
	case r.State == gitea.ReviewStatePending || r.State == gitea.ReviewStateRequestReview:
		return Review{}, false
	case r.Dismissed:
		rv.State = ReviewDismissed
	case r.State == gitea.ReviewStateApproved:
		rv.State = ReviewApproved
	case r.State == gitea.ReviewStateRequestChanges:
		rv.State = ReviewChangesRequested
	case r.State == gitea.ReviewStateComment:
		rv.State = ReviewCommented
	default:
		return Review{}, false
	}
	return rv, true
}

// TeamMembers finds the team by name among the organization's teams, then lists its members.
// The token needs read access to the organization.
func (g *giteaForge) TeamMembers(ctx context.Context, team string) ([]string, error) {
	org, name, err := splitTeam(KindGitea, team)
	if err != nil {
		return nil, err
	}
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	// The SDK puts the organization into the path unescaped.
	teams, err := pages(func(page int) ([]*gitea.Team, int, error) {
		l, resp, err := c.SearchOrgTeams(url.PathEscape(org), &gitea.SearchTeamsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize}, Query: name})
		return l, giteaNext(resp), classify(giteaHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("find gitea team %s: %w", team, err)
	}
	// The search matches parts of names: take the team of that name (Gitea's names are
	// case-insensitive).
	id := int64(-1)
	for _, t := range teams {
		if strings.EqualFold(t.Name, name) {
			id = t.ID
		}
	}
	if id < 0 {
		return nil, fmt.Errorf("find gitea team %s: no team %s in organization %s: %w", team, name, org, ErrNotFound)
	}
	users, err := pages(func(page int) ([]*gitea.User, int, error) {
		l, resp, err := c.ListTeamMembers(id, gitea.ListTeamMembersOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize}})
		return l, giteaNext(resp), classify(giteaHTTP(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list members of gitea team %s: %w", team, err)
	}
	logins := make([]string, 0, len(users))
	for _, u := range users {
		logins = append(logins, u.UserName)
	}
	return uniqueSorted(logins), nil
}
