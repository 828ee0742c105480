package forge

import (
	"context"
	"fmt"
	"net/url"

	"github.com/google/go-github/v84/github"
)

// Reviews lists a pull request's reviews with the head each was given on (commit_id). GitHub
// marks no review stale: an approval of an older head is told apart by its commit. When the
// branch protection dismisses stale approvals on push, the dismissed review's state is
// DISMISSED (ReviewDismissed). Pending (draft) reviews are left out.
func (g *gitHub) Reviews(ctx context.Context, number int) ([]Review, error) {
	opts := &github.ListOptions{PerPage: 100}
	rs, err := pages(func(page int) ([]*github.PullRequestReview, int, error) {
		opts.Page = page
		l, resp, err := g.c.PullRequests.ListReviews(ctx, g.owner, g.name, number, opts)
		return l, nextPage(resp), classify(httpResponse(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list reviews of github pull request %s#%d: %w", g.repo(), number, err)
	}
	var out []Review
	for _, r := range rs {
		var state ReviewState
		switch r.GetState() {
		case "APPROVED":
			state = ReviewApproved
		case "CHANGES_REQUESTED":
			state = ReviewChangesRequested
		case "COMMENTED":
			state = ReviewCommented
		case "DISMISSED":
			state = ReviewDismissed
		default:
			// PENDING: a draft only its author sees.
			continue
		}
		out = append(out, Review{User: r.GetUser().GetLogin(), State: state, CommitSHA: r.GetCommitID(),
			SubmittedAt: r.GetSubmittedAt().Time})
	}
	return out, nil
}

// TeamMembers lists the members of the team with that slug, those of its child teams
// included. The token needs read access to the organization's members (read:org; for an App
// or a fine-grained token, the organization's Members permission): a team it cannot see is
// not found.
func (g *gitHub) TeamMembers(ctx context.Context, team string) ([]string, error) {
	org, slug, err := splitTeam(KindGitHub, team)
	if err != nil {
		return nil, err
	}
	opts := &github.TeamListTeamMembersOptions{Role: "all", ListOptions: github.ListOptions{PerPage: 100}}
	users, err := pages(func(page int) ([]*github.User, int, error) {
		opts.Page = page
		l, resp, err := g.c.Teams.ListTeamMembersBySlug(ctx, url.PathEscape(org), url.PathEscape(slug), opts)
		return l, nextPage(resp), classify(httpResponse(resp), err)
	})
	if err != nil {
		return nil, fmt.Errorf("list members of github team %s: %w", team, err)
	}
	logins := make([]string, 0, len(users))
	for _, u := range users {
		logins = append(logins, u.GetLogin())
	}
	return uniqueSorted(logins), nil
}
