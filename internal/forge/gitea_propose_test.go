package forge

import (
	"slices"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/testenv"
)

// ProposeChange against the real Gitea: one commit on the base's head, one pull request, and
// nothing written again for the same proposal.
func TestGiteaProposeChange(t *testing.T) {
	gt := testenv.StartTestGitea(t)
	ctx := t.Context()
	g := NewWithT(t)
	url, err := gt.CreateRepo(ctx, "plans")
	g.Expect(err).NotTo(HaveOccurred())
	admin, err := gt.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	repo, wt, auth := newClone(t, url, gt.Admin, gt.Token)
	// pushMain pushes main and waits until Gitea, which records pushes asynchronously, has.
	pushMain := func(files map[string]string, msg string) {
		h := commitFiles(t, wt, files, msg)
		push(t, repo, auth, "refs/heads/main:refs/heads/main")
		g.Eventually(func() (string, error) {
			br, _, err := admin.GetRepoBranch(gt.Admin, "plans", "main")
			if err != nil {
				return "", err
			}
			return br.Commit.ID, nil
		}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Equal(h.String()))
	}
	pushMain(map[string]string{"README.md": "# plans\n", "plans/payments.yaml": "name: payments\nprimary: east\n"}, "first plans")

	fg, err := New(Options{Kind: KindGitea, URL: gt.URL, Repo: gt.Admin + "/plans", Token: gt.Token, Retry: fastRetry})
	g.Expect(err).NotTo(HaveOccurred())

	const branch = "drplan/reverse-payments"
	// state reads the branch back: its head, the head's parents and changed files, and the
	// open pull requests from it.
	state := func(g Gomega) (*gitea.Commit, []*gitea.PullRequest) {
		br, _, err := admin.GetRepoBranch(gt.Admin, "plans", branch)
		g.Expect(err).NotTo(HaveOccurred())
		cm, _, err := admin.GetSingleCommit(gt.Admin, "plans", br.Commit.ID)
		g.Expect(err).NotTo(HaveOccurred())
		prs, _, err := admin.ListRepoPullRequests(gt.Admin, "plans", gitea.ListPullRequestsOptions{State: gitea.StateOpen})
		g.Expect(err).NotTo(HaveOccurred())
		return cm, slices.DeleteFunc(prs, func(p *gitea.PullRequest) bool { return p.Head.Ref != branch })
	}
	content := func(g Gomega, ref, path string) string {
		b, _, err := admin.GetFile(gt.Admin, "plans", ref, path)
		g.Expect(err).NotTo(HaveOccurred())
		return string(b)
	}
	mainHead := func(g Gomega) string {
		br, _, err := admin.GetRepoBranch(gt.Admin, "plans", "main")
		g.Expect(err).NotTo(HaveOccurred())
		return br.Commit.ID
	}
	parents := func(cm *gitea.Commit) []string {
		var out []string
		for _, p := range cm.Parents {
			out = append(out, p.SHA)
		}
		return out
	}
	files := func(cm *gitea.Commit) []string {
		var out []string
		for _, f := range cm.Files {
			out = append(out, f.Filename)
		}
		slices.Sort(out)
		return out
	}

	p := Proposal{Base: "main", Branch: branch, Title: "Reverse payments", Body: "Fail back to east.",
		Message: "reverse payments after failover", Files: map[string]string{
			"plans/payments.yaml":         "name: payments\nprimary: west\n",
			"plans/payments-reverse.yaml": "name: payments-reverse\n",
		}}
	var first *PullRequest
	t.Run("one commit with the files, one pull request", func(t *testing.T) {
		g := NewWithT(t)
		pr, err := fg.ProposeChange(ctx, p)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr).NotTo(BeNil())
		cm, prs := state(g)
		g.Expect(parents(cm)).To(Equal([]string{mainHead(g)}))
		g.Expect(files(cm)).To(Equal([]string{"plans/payments-reverse.yaml", "plans/payments.yaml"}))
		g.Expect(cm.RepoCommit.Message).To(HavePrefix("reverse payments after failover"))
		g.Expect(content(g, branch, "plans/payments.yaml")).To(Equal("name: payments\nprimary: west\n"))
		g.Expect(content(g, branch, "plans/payments-reverse.yaml")).To(Equal("name: payments-reverse\n"))
		g.Expect(prs).To(HaveLen(1))
		g.Expect(prs[0].Title).To(Equal("Reverse payments"))
		g.Expect(prs[0].Body).To(Equal("Fail back to east."))
		g.Expect(prs[0].Base.Ref).To(Equal("main"))
		g.Expect(pr.Number).To(Equal(int(prs[0].Index)))
		g.Expect(pr.Branch).To(Equal(branch))
		g.Expect(pr.HeadSHA).To(Equal(cm.SHA))
		first = pr
	})

	t.Run("the same proposal again writes nothing", func(t *testing.T) {
		g := NewWithT(t)
		before, _ := state(g)
		pr, err := fg.ProposeChange(ctx, p)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr.Number).To(Equal(first.Number))
		g.Expect(pr.HeadSHA).To(Equal(before.SHA))
		after, prs := state(g)
		g.Expect(after.SHA).To(Equal(before.SHA), "no new commit")
		g.Expect(prs).To(HaveLen(1), "no second pull request")
	})

	t.Run("a changed content makes a new commit on the base, same pull request", func(t *testing.T) {
		g := NewWithT(t)
		before, _ := state(g)
		changed := p
		changed.Title, changed.Body = "Reverse payments (2)", "Fail back to east, again."
		changed.Files = map[string]string{"plans/payments.yaml": "name: payments\nprimary: west\nrpo: 5m\n",
			"plans/payments-reverse.yaml": "name: payments-reverse\n"}
		pr, err := fg.ProposeChange(ctx, changed)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr.Number).To(Equal(first.Number))
		after, prs := state(g)
		g.Expect(after.SHA).NotTo(Equal(before.SHA))
		g.Expect(parents(after)).To(Equal([]string{mainHead(g)}), "one commit on the base, not on the old one")
		g.Expect(files(after)).To(Equal([]string{"plans/payments-reverse.yaml", "plans/payments.yaml"}))
		g.Expect(content(g, branch, "plans/payments.yaml")).To(Equal("name: payments\nprimary: west\nrpo: 5m\n"))
		g.Expect(pr.HeadSHA).To(Equal(after.SHA))
		g.Expect(prs).To(HaveLen(1))
		g.Expect(prs[0].Title).To(Equal("Reverse payments (2)"))
		g.Expect(prs[0].Body).To(Equal("Fail back to east, again."))
		p = changed
	})

	t.Run("a file dropped from the proposal leaves the commit", func(t *testing.T) {
		g := NewWithT(t)
		fewer := p
		fewer.Files = map[string]string{"plans/payments.yaml": p.Files["plans/payments.yaml"]}
		pr, err := fg.ProposeChange(ctx, fewer)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr.Number).To(Equal(first.Number))
		after, _ := state(g)
		g.Expect(files(after)).To(Equal([]string{"plans/payments.yaml"}))
		p = fewer
	})

	t.Run("a base that moved gets the branch rebuilt on its head", func(t *testing.T) {
		g := NewWithT(t)
		pushMain(map[string]string{"README.md": "# plans, moved on\n"}, "docs")
		pr, err := fg.ProposeChange(ctx, p)
		g.Expect(err).NotTo(HaveOccurred())
		after, prs := state(g)
		g.Expect(parents(after)).To(Equal([]string{mainHead(g)}))
		g.Expect(files(after)).To(Equal([]string{"plans/payments.yaml"}))
		g.Expect(pr.HeadSHA).To(Equal(after.SHA))
		g.Expect(prs).To(HaveLen(1))
	})

	t.Run("nothing to propose when the base holds the files", func(t *testing.T) {
		g := NewWithT(t)
		before, _ := state(g)
		pr, err := fg.ProposeChange(ctx, Proposal{Base: "main", Branch: branch, Title: "t", Message: "m",
			Files: map[string]string{"README.md": "# plans, moved on\n"}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr).To(BeNil())
		after, _ := state(g)
		g.Expect(after.SHA).To(Equal(before.SHA), "the branch is left as it is")
	})

	t.Run("a missing base is ErrNotFound", func(t *testing.T) {
		g := NewWithT(t)
		none := p
		none.Base = "release"
		_, err := fg.ProposeChange(ctx, none)
		g.Expect(err).To(MatchError(ErrNotFound))
		g.Expect(err.Error()).To(ContainSubstring("release"))
	})
}
