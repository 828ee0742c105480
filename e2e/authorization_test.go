package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// TestFailoverNeedsSignedCommit: with failoverAuthorization.signedCommits, an unsigned
// failover commit, one signed by a key the agent does not trust and one whose signature was
// moved onto other content are refused: nothing changes in either cluster, and status says
// why. A commit signed by a trusted key fails the plan over, and the log names the signer.
func TestFailoverNeedsSignedCommit(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	trusted, untrusted := pgpKey(t, "Dana Oncall", "dana@drplan.test"), pgpKey(t, "Eve", "eve@drplan.test")
	keys := filepath.Join(t.TempDir(), "trusted.asc")
	g.Expect(os.WriteFile(keys, armoredPublic(t, trusted), 0o600)).To(Succeed())
	p := foPlan{name: "sig", catchUp: "30s", waves: []foWave{{name: "default"}}, volumes: []foVolume{{name: "sig-a", wave: "default"}}}
	setup := protectForFailover(t, lab, east, west, p, agentOpts{config: fmt.Sprintf("failoverAuthorization: {signedCommits: true, trustedKeys: [%s]}\n", keys)})
	repo, a := setup.repo, setup.agent
	off, on := p, p
	on.failover = true
	file := p.name + ".yaml"

	refused := func(sha, reason string) {
		t.Helper()
		waitUnauthorized(t, a, p.name, "commit "+sha[:12]+": "+reason)
		checkUntouched(t, east, west, p)
		repo.commit(t, "set failover back to false", map[string]string{file: off.yaml()})
	}
	t.Log("unsigned: refused")
	refused(repo.commit(t, "fail over, unsigned", map[string]string{file: on.yaml()}), "commit is not signed")

	t.Log("signed by a key the agent does not trust: refused")
	refused(repo.commitWith(t, "fail over, signed by eve", map[string]string{file: on.yaml()}, &git.CommitOptions{SignKey: untrusted}), "signed by a key that is not trusted: openpgp key")

	t.Log("a trusted signature moved onto other content (forged): refused")
	refused(repo.commitForged(t, trusted, file, on.yaml()), "signature does not verify")

	t.Log("signed by a trusted key: the failover runs to the end")
	sha := repo.commitWith(t, "fail over sig, signed by dana", map[string]string{file: on.yaml()}, &git.CommitOptions{SignKey: trusted})
	rec := waitFailoverDone(t, west, p.name, 3*time.Minute)
	g.Expect(rec.AuthorizedBy).NotTo(BeNil())
	g.Expect(rec.AuthorizedBy.Commit).To(Equal(sha))
	g.Expect(rec.AuthorizedBy.Signer).To(ContainSubstring("Dana Oncall"))
	fs := waitFailoverStatus(t, a, planner.FailoverComplete)
	g.Expect(fs.AuthorizedBy.Signer).To(ContainSubstring("Dana Oncall"))
	g.Expect(agentLog(t, a)).To(MatchRegexp(`"msg":"failover authorized".*"commit":"` + sha + `".*"signer":"[^"]*Dana Oncall`))
}

// TestFailoverNeedsApprovals: with failoverAuthorization.approvals 1 from alice, a failover
// pushed straight to the branch, one merged with mallory's approval only, and one alice
// approved before a later push are refused; one alice approved on its last push fails the plan
// over, and the log names her.
func TestFailoverNeedsApprovals(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	api, err := lab.Gitea.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	owner := lab.Gitea.Admin
	p := foPlan{name: "apr", catchUp: "30s", waves: []foWave{{name: "default"}}, volumes: []foVolume{{name: "apr-a", wave: "default"}}}
	setup := protectForFailover(t, lab, east, west, p, agentOpts{forge: true,
		config: "failoverAuthorization: {approvals: 1, reviewers: [alice-apr]}\n"})
	a := setup.repo
	alice, mallory := giteaUser(t, lab, a.Name, "alice-apr"), giteaUser(t, lab, a.Name, "mallory-apr")
	off, on := p, p
	on.failover = true
	file := p.name + ".yaml"
	// sha is the file's blob on main, for the next change through the API.
	blob := func() string {
		c, _, err := api.GetContents(owner, a.Name, "main", file)
		g.Expect(err).NotTo(HaveOccurred())
		return c.SHA
	}
	backOff := func() {
		t.Helper()
		checkUntouched(t, east, west, p)
		gitFile(t, api, owner, a.Name, "main", file, off.yaml(), blob())
	}
	merge := func(pr *gitea.PullRequest) {
		t.Helper()
		// Gitea refuses a merge until it has checked the pull request's mergeability.
		g.Eventually(func(g Gomega) {
			ok, _, err := api.MergePullRequest(owner, a.Name, pr.Index, gitea.MergePullRequestOption{Style: gitea.MergeStyleMerge})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ok).To(BeTrue())
		}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
	}
	approve := func(c *gitea.Client, pr *gitea.PullRequest, sha string) {
		t.Helper()
		_, _, err := c.CreatePullReview(owner, a.Name, pr.Index, gitea.CreatePullReviewOptions{State: gitea.ReviewStateApproved, CommitID: sha})
		g.Expect(err).NotTo(HaveOccurred())
	}

	t.Log("pushed straight to main: refused")
	gitFile(t, api, owner, a.Name, "main", file, on.yaml(), blob())
	waitUnauthorized(t, setup.agent, p.name, "pushed straight to the branch")
	backOff()

	t.Log("approved by mallory only: refused")
	ch := gitFileBranch(t, api, owner, a.Name, "by-mallory", file, on.yaml(), blob())
	pr := openPR(t, api, owner, a.Name, "by-mallory", "Fail over apr")
	approve(mallory, pr, ch.Commit.SHA)
	merge(pr)
	waitUnauthorized(t, setup.agent, p.name, "mallory-apr approved but may not authorize a failover")
	backOff()

	t.Log("approved by alice before a later push: refused")
	ch = gitFileBranch(t, api, owner, a.Name, "stale", file, on.yaml(), blob())
	pr = openPR(t, api, owner, a.Name, "stale", "Fail over apr again")
	approve(alice, pr, ch.Commit.SHA)
	gitFile(t, api, owner, a.Name, "stale", file, strings.Replace(on.yaml(), "rpo: 90m", "rpo: 91m", 1), ch.Content.SHA)
	merge(pr)
	waitUnauthorized(t, setup.agent, p.name, "alice-apr approved before the last push")
	backOff()

	t.Log("approved by alice on the last push: the failover runs to the end")
	ch = gitFileBranch(t, api, owner, a.Name, "approved", file, on.yaml(), blob())
	pr = openPR(t, api, owner, a.Name, "approved", "Fail over apr, approved")
	approve(alice, pr, ch.Commit.SHA)
	merge(pr)
	rec := waitFailoverDone(t, west, p.name, 3*time.Minute)
	g.Expect(rec.AuthorizedBy).NotTo(BeNil())
	g.Expect(rec.AuthorizedBy.Approvers).To(Equal([]string{"alice-apr"}))
	g.Expect(rec.AuthorizedBy.PullRequest.Number).To(BeEquivalentTo(pr.Index))
	g.Expect(agentLog(t, setup.agent)).To(MatchRegexp(`"msg":"failover authorized".*"approvers":\["alice-apr"\]`))
}

// waitUnauthorized waits until the agent reports the plan's failover as unauthorized with
// reason in its status.
func waitUnauthorized(t *testing.T, a *agentProc, plan, reason string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		var fs *planner.FailoverReport
		for _, p := range st.Plans {
			if p.Name == plan {
				fs = p.FailoverStatus
			}
		}
		g.Expect(fs).NotTo(BeNil())
		g.Expect(fs.Phase).To(Equal(planner.FailoverUnauthorized))
		g.Expect(fs.Waiting).To(ContainSubstring(reason))
	}).WithTimeout(2 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
}

// checkUntouched checks for a few seconds that the plan's failover changed nothing: no record,
// the standby volumes still standby, the sources still bound to the plan's job.
func checkUntouched(t *testing.T, east, west *drlab.Cluster, p foPlan) {
	t.Helper()
	ctx := t.Context()
	NewWithT(t).Consistently(func(g Gomega) {
		_, err := readRecord(ctx, west, p.name)
		g.Expect(err).To(HaveOccurred(), "no failover record")
		for _, v := range p.volumes {
			sb := &longhorn.Volume{}
			g.Expect(west.Client.Get(ctx, key(v.standbyName()), sb)).To(Succeed())
			g.Expect(sb.Spec.Standby).To(BeTrue(), "standby volume %s not activated", v.standbyName())
			src := &longhorn.Volume{}
			g.Expect(east.Client.Get(ctx, key(v.name), src)).To(Succeed())
			g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-"+p.name, "enabled"), "source %s not fenced", v.name)
		}
	}).WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
}

func pgpKey(t *testing.T, name, email string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", email, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return e
}

func armoredPublic(t *testing.T, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	NewWithT(t).Expect(e.Serialize(w)).To(Succeed())
	NewWithT(t).Expect(w.Close()).To(Succeed())
	return buf.Bytes()
}

// commitForged signs a commit of content with key, then pushes a commit with other content (a
// message that says otherwise) carrying that signature: what someone without the key could
// do with a signature taken from elsewhere.
func (p *planRepo) commitForged(t *testing.T, key *openpgp.Entity, file, content string) string {
	t.Helper()
	g := NewWithT(t)
	wt, err := p.repo.Worktree()
	g.Expect(err).NotTo(HaveOccurred())
	f, err := wt.Filesystem.Create(file)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.Write([]byte(content))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.Close()).To(Succeed())
	_, err = wt.Add(file)
	g.Expect(err).NotTo(HaveOccurred())
	signed, err := wt.Commit("fail over, as signed", &git.CommitOptions{SignKey: key,
		Author: &object.Signature{Name: "e2e", Email: "e2e@drplan.test", When: time.Now()}})
	g.Expect(err).NotTo(HaveOccurred())
	c, err := p.repo.CommitObject(signed)
	g.Expect(err).NotTo(HaveOccurred())
	forged := *c
	forged.Message = "fail over, message changed after signing"
	obj := p.repo.Storer.NewEncodedObject()
	g.Expect(forged.Encode(obj)).To(Succeed())
	h, err := p.repo.Storer.SetEncodedObject(obj)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.repo.Storer.SetReference(plumbing.NewHashReference("refs/heads/master", h))).To(Succeed())
	g.Expect(wt.Reset(&git.ResetOptions{Commit: h, Mode: git.HardReset})).To(Succeed())
	g.Expect(p.repo.PushContext(t.Context(), &git.PushOptions{Auth: p.auth,
		RefSpecs: []gitconfig.RefSpec{"refs/heads/master:refs/heads/main"}})).To(Succeed())
	return h.String()
}

// gitFileBranch changes file on a new branch made from main, through the forge's API.
func gitFileBranch(t *testing.T, api *gitea.Client, owner, repo, branch, file, content, sha string) *gitea.FileResponse {
	t.Helper()
	r, _, err := api.UpdateFile(owner, repo, file, gitea.UpdateFileOptions{
		FileOptions: gitea.FileOptions{Message: "change " + file, BranchName: "main", NewBranchName: branch}, SHA: sha,
		Content: base64.StdEncoding.EncodeToString([]byte(content))})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return r
}

// giteaUser creates a user on the lab's Gitea, with write access to repo, and returns a client
// acting as them.
func giteaUser(t *testing.T, lab *drlab.Lab, repo, name string) *gitea.Client {
	t.Helper()
	g := NewWithT(t)
	admin, err := lab.Gitea.Client(t.Context())
	g.Expect(err).NotTo(HaveOccurred())
	const password = "drplan-e2e-password-1"
	_, _, err = admin.AdminCreateUser(gitea.CreateUserOption{Username: name, Email: name + "@drplan.test", Password: password,
		MustChangePassword: gitea.OptionalBool(false)})
	g.Expect(err).NotTo(HaveOccurred())
	write := gitea.AccessModeWrite
	_, err = admin.AddCollaborator(lab.Gitea.Admin, repo, name, gitea.AddCollaboratorOption{Permission: &write})
	g.Expect(err).NotTo(HaveOccurred())
	c, err := gitea.NewClient(lab.Gitea.URL, gitea.SetBasicAuth(name, password), gitea.SetContext(t.Context()))
	g.Expect(err).NotTo(HaveOccurred())
	return c
}

func agentLog(t *testing.T, a *agentProc) string {
	t.Helper()
	b, err := os.ReadFile(a.log)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return string(b)
}
