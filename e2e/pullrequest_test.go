package e2e

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/report"
)

// Pull requests against the real Gitea: a preview comment per pull request, edited in place on
// every new head (one comment in total), problems and a failing drplan/validate status for a
// broken plan, and "applied" on the pull request once merged.
func TestPullRequestComments(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east := lab.Clusters["east"]
	sourceVolume(t, east, "prs-a", nil)
	sourceVolume(t, east, "prs-b", nil)
	repo := newPlanRepo(t, lab, "prs")
	repo.commit(t, "first plan", map[string]string{"prs-a.yaml": planYAML("prs-a", "@every 1h", "90m", "prs-a")})
	a := startAgent(t, lab, repo, agentOpts{forge: true})
	api, err := lab.Gitea.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	owner := lab.Gitea.Admin

	t.Log("a pull request adding a plan gets a preview and a passing drplan/validate status")
	add := gitFile(t, api, owner, repo.Name, "add-prs-b", "prs-b.yaml", planYAML("prs-b", "@every 1h", "90m", "prs-b"), "")
	pr := openPR(t, api, owner, repo.Name, "add-prs-b", "Protect prs-b")
	body := waitComment(t, api, owner, repo.Name, pr.Index, add.Commit.SHA)
	g.Expect(body).To(ContainSubstring("prs-b"))
	g.Expect(body).To(ContainSubstring("drplan-prs-b"), "the recurring job it would create on east")
	waitStatus(t, api, owner, repo.Name, add.Commit.SHA, gitea.StatusSuccess)
	t.Logf("preview comment:\n%s", body)

	t.Log("a second push to the pull request edits the same comment")
	second := gitFile(t, api, owner, repo.Name, "add-prs-b", "prs-b.yaml",
		planYAML("prs-b", "@every 1h", "2h", "prs-b"), add.Content.SHA)
	body = waitComment(t, api, owner, repo.Name, pr.Index, second.Commit.SHA)
	g.Expect(body).To(ContainSubstring("History"))
	waitStatus(t, api, owner, repo.Name, second.Commit.SHA, gitea.StatusSuccess)

	t.Log("a broken plan: its problems in the comment, a failing status")
	broken := gitFile(t, api, owner, repo.Name, "broken", "broken.yaml",
		strings.Replace(planYAML("prs-c", "@every 1h", "90m", "prs-a"), "  rpo:", "  rpoo: 1h\n  rpo:", 1), "")
	bad := openPR(t, api, owner, repo.Name, "broken", "Broken")
	body = waitComment(t, api, owner, repo.Name, bad.Index, broken.Commit.SHA)
	g.Expect(body).To(ContainSubstring("broken.yaml:"))
	g.Expect(body).To(ContainSubstring("spec.rpoo"))
	waitStatus(t, api, owner, repo.Name, broken.Commit.SHA, gitea.StatusFailure)

	t.Log("merged: the comment says what was applied")
	_, _, err = api.MergePullRequest(owner, repo.Name, pr.Index, gitea.MergePullRequestOption{Style: gitea.MergeStyleMerge})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		cs := agentComments(t, api, owner, repo.Name, pr.Index)
		g.Expect(cs).To(HaveLen(1))
		g.Expect(cs[0]).To(ContainSubstring("kind=applied"))
		g.Expect(cs[0]).To(ContainSubstring("drplan-prs-b"))
	}).WithTimeout(60 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	st, err := a.getStatus()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(st.Plans).To(HaveLen(2))
}

// gitFile creates (sha empty) or updates a file on branch (created from main when new), as
// Gitea's web editor does, and returns the response.
func gitFile(t *testing.T, api *gitea.Client, owner, repo, branch, path, content, sha string) *gitea.FileResponse {
	t.Helper()
	g := NewWithT(t)
	b64 := base64.StdEncoding.EncodeToString([]byte(content))
	if sha == "" {
		r, _, err := api.CreateFile(owner, repo, path, gitea.CreateFileOptions{
			FileOptions: gitea.FileOptions{Message: "add " + path, BranchName: "main", NewBranchName: branch}, Content: b64})
		if err != nil && strings.Contains(err.Error(), "already exists") {
			r, _, err = api.CreateFile(owner, repo, path, gitea.CreateFileOptions{
				FileOptions: gitea.FileOptions{Message: "add " + path, BranchName: branch}, Content: b64})
		}
		g.Expect(err).NotTo(HaveOccurred())
		return r
	}
	r, _, err := api.UpdateFile(owner, repo, path, gitea.UpdateFileOptions{
		FileOptions: gitea.FileOptions{Message: "change " + path, BranchName: branch}, SHA: sha, Content: b64})
	g.Expect(err).NotTo(HaveOccurred())
	return r
}

// openPR opens a pull request from branch into main, retrying while Gitea registers the branch.
func openPR(t *testing.T, api *gitea.Client, owner, repo, branch, title string) *gitea.PullRequest {
	t.Helper()
	var pr *gitea.PullRequest
	NewWithT(t).Eventually(func() error {
		var err error
		pr, _, err = api.CreatePullRequest(owner, repo, gitea.CreatePullRequestOption{Head: branch, Base: "main", Title: title})
		return err
	}).WithTimeout(10 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	return pr
}

// agentComments lists the bodies of the agent's comments on a pull request.
func agentComments(t *testing.T, api *gitea.Client, owner, repo string, pr int64) []string {
	t.Helper()
	cs, _, err := api.ListIssueComments(owner, repo, pr, gitea.ListIssueCommentOptions{})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, c := range cs {
		if strings.HasPrefix(c.Body, report.Marker) {
			out = append(out, c.Body)
		}
	}
	return out
}

// waitComment waits until the pull request has exactly one agent comment, for head.
func waitComment(t *testing.T, api *gitea.Client, owner, repo string, pr int64, head string) string {
	t.Helper()
	var body string
	NewWithT(t).Eventually(func(g Gomega) {
		cs := agentComments(t, api, owner, repo, pr)
		g.Expect(cs).To(HaveLen(1), "one agent comment per pull request")
		g.Expect(cs[0]).To(ContainSubstring("revision=" + head))
		body = cs[0]
	}).WithTimeout(60 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	return body
}

func waitStatus(t *testing.T, api *gitea.Client, owner, repo, sha string, want gitea.StatusState) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		sts, _, err := api.ListStatuses(owner, repo, sha, gitea.ListStatusesOption{})
		g.Expect(err).NotTo(HaveOccurred())
		var got []string
		for _, s := range sts {
			if s.Context == "drplan/validate" {
				got = append(got, string(s.State))
			}
		}
		g.Expect(got).To(ContainElement(string(want)))
	}).WithTimeout(60 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
}
