package forge

import (
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/testenv"
)

// newClone returns a developer's in-memory clone of url, to commit and push with go-git.
func newClone(t *testing.T, url, user, token string) (*git.Repository, *git.Worktree, *githttp.BasicAuth) {
	t.Helper()
	fs := memfs.New()
	repo, err := git.InitWithOptions(memory.NewStorage(), fs, git.InitOptions{DefaultBranch: plumbing.Main})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	return repo, wt, &githttp.BasicAuth{Username: user, Password: token}
}

// commitFiles writes files into the work tree and commits them.
func commitFiles(t *testing.T, wt *git.Worktree, files map[string]string, msg string) plumbing.Hash {
	t.Helper()
	for name, content := range files {
		f, err := wt.Filesystem.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
		if _, err := wt.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "Dev", Email: "dev@drplan.test", When: time.Now()}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func push(t *testing.T, repo *git.Repository, auth *githttp.BasicAuth, refspec string) {
	t.Helper()
	if err := repo.PushContext(t.Context(), &git.PushOptions{RemoteName: "origin", Auth: auth,
		RefSpecs: []config.RefSpec{config.RefSpec(refspec)}}); err != nil {
		t.Fatalf("push %s: %v", refspec, err)
	}
}

// The Gitea provider against the real Gitea: a pull request's life from opening to merge.
func TestGiteaPullRequestLife(t *testing.T) {
	gt := testenv.StartTestGitea(t)
	ctx := t.Context()
	g := NewWithT(t)
	url, err := gt.CreateRepo(ctx, "plans")
	g.Expect(err).NotTo(HaveOccurred())
	admin, err := gt.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())

	repo, wt, auth := newClone(t, url, gt.Admin, gt.Token)
	base := commitFiles(t, wt, map[string]string{"README.md": "# plans\n", "plans/payments.yaml": "name: payments\n"}, "first plans")
	push(t, repo, auth, "refs/heads/main:refs/heads/main")
	g.Expect(wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("change"), Create: true})).To(Succeed())
	head1 := commitFiles(t, wt, map[string]string{"plans/payments.yaml": "name: payments\nfailover: true\n"}, "fail over payments")
	push(t, repo, auth, "refs/heads/change:refs/heads/change")
	// A second branch touching no plan.
	g.Expect(wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("docs"), Hash: base, Create: true})).To(Succeed())
	commitFiles(t, wt, map[string]string{"README.md": "# plans, documented\n"}, "docs")
	push(t, repo, auth, "refs/heads/docs:refs/heads/docs")

	// Gitea records pushed branches asynchronously: a pull request can only be opened once it has.
	for _, b := range []string{"change", "docs"} {
		g.Eventually(func() error {
			_, _, err := admin.GetRepoBranch(gt.Admin, "plans", b)
			return err
		}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
	}
	for _, o := range []gitea.CreatePullRequestOption{
		{Head: "change", Base: "main", Title: "Fail over payments"},
		{Head: "docs", Base: "main", Title: "Docs"},
	} {
		_, _, err := admin.CreatePullRequest(gt.Admin, "plans", o)
		g.Expect(err).NotTo(HaveOccurred())
	}

	fg, err := New(Options{Kind: KindGitea, URL: gt.URL, Repo: gt.Admin + "/plans", Token: gt.Token, Retry: fastRetry})
	g.Expect(err).NotTo(HaveOccurred())

	t.Run("open pull requests and their files", func(t *testing.T) {
		g := NewWithT(t)
		prs, err := fg.OpenPullRequests(ctx, "main")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(prs).To(HaveLen(2))
		g.Expect(prs[0].Number).To(Equal(1))
		g.Expect(prs[0].Title).To(Equal("Fail over payments"))
		g.Expect(prs[0].HeadSHA).To(Equal(head1.String()))
		g.Expect(prs[0].HeadRef).To(Equal("refs/pull/1/head"))
		g.Expect(prs[0].Branch).To(Equal("change"))
		g.Expect(prs[0].Base).To(Equal("main"))
		g.Expect(prs[0].URL).To(HaveSuffix("/plans/pulls/1"))

		// The head ref can be fetched from the base repository.
		refs, err := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}}).ListContext(ctx, &git.ListOptions{Auth: auth})
		g.Expect(err).NotTo(HaveOccurred())
		var found bool
		for _, r := range refs {
			if r.Name().String() == prs[0].HeadRef {
				found = r.Hash() == head1
			}
		}
		g.Expect(found).To(BeTrue(), "refs/pull/1/head at the head commit")

		files, err := fg.ChangedFiles(ctx, 1)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(files).To(Equal([]string{"plans/payments.yaml"}))

		none, err := fg.OpenPullRequests(ctx, "release")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(none).To(BeEmpty())

		filter := &PathFilter{Forge: fg, Dir: "plans"}
		touching, err := filter.OpenPullRequests(ctx, "main")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(touching).To(HaveLen(1))
		g.Expect(touching[0].Number).To(Equal(1))
	})

	const marker = "<!-- drplan:pr -->"
	var commentID int64
	t.Run("one comment, edited in place", func(t *testing.T) {
		g := NewWithT(t)
		// A reviewer's comment quoting the marker is not the agent's.
		_, _, err := admin.AdminCreateUser(gitea.CreateUserOption{Username: "reviewer", Email: "r@drplan.test",
			Password: "reviewer-password-1", MustChangePassword: gitea.OptionalBool(false)})
		g.Expect(err).NotTo(HaveOccurred())
		reviewer, err := gitea.NewClient(gt.URL, gitea.SetBasicAuth("reviewer", "reviewer-password-1"), gitea.SetContext(ctx))
		g.Expect(err).NotTo(HaveOccurred())
		_, _, err = reviewer.CreateIssueComment(gt.Admin, "plans", 1, gitea.CreateIssueCommentOption{Body: marker + "\nas the bot would say"})
		g.Expect(err).NotTo(HaveOccurred())

		c1, err := fg.UpsertComment(ctx, 1, marker, Text("preview of "+head1.String()[:7]))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(c1.Result).To(Equal(CommentCreated))
		c2, err := fg.UpsertComment(ctx, 1, marker, func(prev string) string {
			return "preview of the second push\n\nwas: " + strings.TrimPrefix(prev, marker+"\n")
		})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(c2.Result).To(Equal(CommentUpdated))
		g.Expect(c2.ID).To(Equal(c1.ID))
		g.Expect(c2.URL).To(ContainSubstring("/plans/pulls/1#issuecomment-"))
		c3, err := fg.UpsertComment(ctx, 1, marker, Text(c2.Body))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(c3.Result).To(Equal(CommentUnchanged))

		cs, _, err := admin.ListIssueComments(gt.Admin, "plans", 1, gitea.ListIssueCommentOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		var mine []*gitea.Comment
		for _, c := range cs {
			if c.Poster.UserName == gt.Admin {
				mine = append(mine, c)
			}
		}
		g.Expect(cs).To(HaveLen(2), "the reviewer's and the agent's")
		g.Expect(mine).To(HaveLen(1))
		g.Expect(mine[0].Body).To(Equal(marker + "\npreview of the second push\n\nwas: preview of " + head1.String()[:7]))
		commentID = mine[0].ID

		// Longer than GitHub's limit, and accepted.
		long := strings.Repeat("| a | b |\n", 8000)
		c4, err := fg.UpsertComment(ctx, 1, marker, Text(long))
		g.Expect(err).NotTo(HaveOccurred())
		got, _, err := admin.GetIssueComment(gt.Admin, "plans", c4.ID)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(len(got.Body)).To(BeNumerically(">", 65536))
	})

	t.Run("commit statuses", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(fg.SetCommitStatus(ctx, head1.String(), Status{Context: ValidateContext, State: StatePending, Description: "validating"})).To(Succeed())
		g.Expect(fg.SetCommitStatus(ctx, head1.String(), Status{Context: ValidateContext, State: StateFailure,
			Description: "2 problems:\nplans/payments.yaml:2:1: failover: unknown field", TargetURL: gt.URL + "drplan-admin/plans/pulls/1"})).To(Succeed())
		cs, _, err := admin.GetCombinedStatus(gt.Admin, "plans", head1.String())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cs.State).To(Equal(gitea.StatusFailure))
		g.Expect(cs.Statuses).To(HaveLen(1), "the newest status of the context")
		g.Expect(cs.Statuses[0].Context).To(Equal("drplan/validate"))
		g.Expect(cs.Statuses[0].Description).To(Equal("2 problems: plans/payments.yaml:2:1: failover: unknown field"))
		g.Expect(cs.Statuses[0].TargetURL).To(HaveSuffix("/pulls/1"))

		g.Expect(fg.SetCommitStatus(ctx, head1.String(), Status{Context: ValidateContext, State: StateSuccess, Description: "1 plan valid"})).To(Succeed())
		cs, _, err = admin.GetCombinedStatus(gt.Admin, "plans", head1.String())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cs.State).To(Equal(gitea.StatusSuccess))
	})

	t.Run("no commit comments on Gitea", func(t *testing.T) {
		g := NewWithT(t)
		_, err := fg.CommentOnCommit(ctx, head1.String(), marker, Text("x"))
		g.Expect(err).To(MatchError(ErrNotSupported))
	})

	t.Run("after merge, the pull request of the applied commit", func(t *testing.T) {
		g := NewWithT(t)
		pr, err := fg.PullRequestForCommit(ctx, base.String())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr).To(BeNil(), "the first commit was pushed without a pull request")

		ok, _, err := admin.MergePullRequest(gt.Admin, "plans", 1, gitea.MergePullRequestOption{Style: gitea.MergeStyleMerge, Title: "Merge fail over"})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ok).To(BeTrue())
		br, _, err := admin.GetRepoBranch(gt.Admin, "plans", "main")
		g.Expect(err).NotTo(HaveOccurred())
		applied := br.Commit.ID
		g.Expect(applied).NotTo(Equal(head1.String()), "a merge commit")

		pr, err = fg.PullRequestForCommit(ctx, applied)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr).NotTo(BeNil())
		g.Expect(pr.Number).To(Equal(1))
		g.Expect(pr.Merged).To(BeTrue())
		g.Expect(pr.MergeSHA).To(Equal(applied))
		g.Expect(pr.HeadSHA).To(Equal(head1.String()))

		// The merged pull request keeps its one comment, updated with what was applied.
		c, err := fg.UpsertComment(ctx, pr.Number, marker, Text("applied "+applied[:7]))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(c.ID).To(Equal(commentID))

		prs, err := fg.OpenPullRequests(ctx, "main")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(prs).To(HaveLen(1))
		g.Expect(prs[0].Number).To(Equal(2))
	})

	t.Run("a wrong token is ErrUnauthorized", func(t *testing.T) {
		g := NewWithT(t)
		bad, err := New(Options{Kind: KindGitea, URL: gt.URL, Repo: gt.Admin + "/plans", Token: "0000", Retry: fastRetry})
		g.Expect(err).NotTo(HaveOccurred())
		_, err = bad.OpenPullRequests(ctx, "main")
		g.Expect(err).To(MatchError(ErrUnauthorized))
		g.Expect(err.Error()).NotTo(ContainSubstring("0000"))
	})
}
