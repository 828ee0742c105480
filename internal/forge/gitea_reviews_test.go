package forge

import (
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/testenv"
)

// Reviews and teams against the real Gitea: a pull request opened by the admin, reviewed by
// others before and after a later push, and an organization's teams.
func TestGiteaReviewsAndTeams(t *testing.T) {
	gt := testenv.StartTestGitea(t)
	ctx := t.Context()
	g := NewWithT(t)
	url, err := gt.CreateRepo(ctx, "plans")
	g.Expect(err).NotTo(HaveOccurred())
	admin, err := gt.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())

	// Reviewers, each with a client acting as them (sudo).
	reviewer := map[string]*gitea.Client{}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		_, _, err := admin.AdminCreateUser(gitea.CreateUserOption{Username: u, Email: u + "@drplan.test",
			Password: u + "-password-1", MustChangePassword: gitea.OptionalBool(false)})
		g.Expect(err).NotTo(HaveOccurred())
		write := gitea.AccessModeWrite
		_, err = admin.AddCollaborator(gt.Admin, "plans", u, gitea.AddCollaboratorOption{Permission: &write})
		g.Expect(err).NotTo(HaveOccurred())
		reviewer[u], err = gitea.NewClient(gt.URL, gitea.SetToken(gt.Token), gitea.SetSudo(u), gitea.SetContext(ctx))
		g.Expect(err).NotTo(HaveOccurred())
	}
	review := func(user string, state gitea.ReviewStateType) *gitea.PullReview {
		t.Helper()
		r, _, err := reviewer[user].CreatePullReview(gt.Admin, "plans", 1, gitea.CreatePullReviewOptions{State: state, Body: user + " says " + string(state)})
		g.Expect(err).NotTo(HaveOccurred())
		return r
	}

	repo, wt, auth := newClone(t, url, gt.Admin, gt.Token)
	commitFiles(t, wt, map[string]string{"plans/payments.yaml": "name: payments\n"}, "first plans")
	g.Expect(wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("failover"), Create: true})).To(Succeed())
	head1 := commitFiles(t, wt, map[string]string{"plans/payments.yaml": "name: payments\nfailover: true\n"}, "fail over payments")
	// main and failover in one push: each push runs Gitea's hooks, seconds on a small machine.
	push(t, repo, auth, "refs/heads/*:refs/heads/*")
	g.Eventually(func() error {
		_, _, err := admin.GetRepoBranch(gt.Admin, "plans", "failover")
		return err
	}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
	_, _, err = admin.CreatePullRequest(gt.Admin, "plans", gitea.CreatePullRequestOption{Head: "failover", Base: "main", Title: "Fail over payments"})
	g.Expect(err).NotTo(HaveOccurred())

	fg, err := New(Options{Kind: KindGitea, URL: gt.URL, Repo: gt.Admin + "/plans", Token: gt.Token, Retry: fastRetry})
	g.Expect(err).NotTo(HaveOccurred())

	// Before the push: alice approves, bob asks for changes.
	review("alice", gitea.ReviewStateApproved)
	review("bob", gitea.ReviewStateRequestChanges)

	// A later push: Gitea marks the earlier reviews stale once it has processed it.
	head2 := commitFiles(t, wt, map[string]string{"plans/payments.yaml": "name: payments\nfailover: true\nwave: 2\n"}, "and the second wave")
	push(t, repo, auth, "refs/heads/failover:refs/heads/failover")
	g.Eventually(func(g Gomega) {
		pr, _, err := admin.GetPullRequest(gt.Admin, "plans", 1)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr.Head.Sha).To(Equal(head2.String()))
		rs, err := fg.Reviews(ctx, 1)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(rs).NotTo(BeEmpty())
		g.Expect(rs[0].Stale).To(BeTrue(), "alice's approval outdated by the push")
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

	// After the push: bob approves, carol comments, dave approves and is dismissed.
	review("bob", gitea.ReviewStateApproved)
	review("carol", gitea.ReviewStateComment)
	dave := review("dave", gitea.ReviewStateApproved)
	_, err = admin.DismissPullReview(gt.Admin, "plans", 1, dave.ID, gitea.DismissPullReviewOptions{Message: "not on call"})
	g.Expect(err).NotTo(HaveOccurred())
	// A review requested from a user is not a review.
	_, err = admin.CreateReviewRequests(gt.Admin, "plans", 1, gitea.PullReviewRequestOptions{Reviewers: []string{"carol"}})
	g.Expect(err).NotTo(HaveOccurred())

	t.Run("reviews, stale before the push", func(t *testing.T) {
		g := NewWithT(t)
		rs, err := fg.Reviews(ctx, 1)
		g.Expect(err).NotTo(HaveOccurred())
		type seen struct {
			User   string
			State  ReviewState
			Commit string
			Stale  bool
		}
		var got []seen
		for _, r := range rs {
			g.Expect(r.SubmittedAt).NotTo(BeZero())
			got = append(got, seen{r.User, r.State, r.CommitSHA, r.Stale})
		}
		g.Expect(got).To(Equal([]seen{
			{"alice", ReviewApproved, head1.String(), true},
			// Gitea dismisses a reviewer's change request when the same reviewer approves.
			{"bob", ReviewDismissed, head1.String(), true},
			{"bob", ReviewApproved, head2.String(), false},
			{"carol", ReviewCommented, head2.String(), false},
			{"dave", ReviewDismissed, head2.String(), false},
		}))
		g.Expect(Approvers(rs, head2.String())).To(Equal([]string{"bob"}))
		g.Expect(Approvers(rs, head1.String())).To(BeEmpty(), "alice's approval is stale")
	})

	t.Run("team members", func(t *testing.T) {
		g := NewWithT(t)
		_, _, err := admin.CreateOrg(gitea.CreateOrgOption{Name: "ops", Visibility: gitea.VisibleTypePublic})
		g.Expect(err).NotTo(HaveOccurred())
		for team, members := range map[string][]string{"sre": {"bob", "alice"}, "sre-oncall": {"carol"}} {
			tm, _, err := admin.CreateTeam("ops", gitea.CreateTeamOption{Name: team, Permission: gitea.AccessModeRead,
				Units: []gitea.RepoUnitType{gitea.RepoUnitCode, gitea.RepoUnitPulls}})
			g.Expect(err).NotTo(HaveOccurred())
			for _, m := range members {
				_, err := admin.AddTeamMember(tm.ID, m)
				g.Expect(err).NotTo(HaveOccurred())
			}
		}

		got, err := fg.TeamMembers(ctx, "ops/sre")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal([]string{"alice", "bob"}), "sre, not sre-oncall that the search also finds")
		got, err = fg.TeamMembers(ctx, "ops/SRE-oncall")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal([]string{"carol"}))

		_, err = fg.TeamMembers(ctx, "ops/ghosts")
		g.Expect(err).To(MatchError(ErrNotFound))
		g.Expect(err.Error()).To(ContainSubstring("gitea team ops/ghosts"))
		_, err = fg.TeamMembers(ctx, "nobody/sre")
		g.Expect(err).To(MatchError(ErrNotFound))
		g.Expect(err.Error()).To(ContainSubstring("gitea team nobody/sre"))
	})
}
