package e2e

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/tools/clientcmd"

	longhorn "github.com/drplan/drplan/internal/longhorn"
)

// TestSecretsNeverShown: an agent holding a forge token, a Git token, a webhook secret and the
// install's ServiceAccount tokens, logging at debug level, protects a plan and previews pull
// requests (a valid one, a broken one). None of the secrets appears in its log, its status and
// metrics endpoints, the pull requests' comments and commit statuses, the clusters' events or
// the plans' status objects.
func TestSecretsNeverShown(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	_, err := lab.AgentKubeconfigs(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	kc := map[string]string{}
	secrets := map[string]string{"the forge and Git token": lab.Gitea.Token, "the webhook secret": "bench-webhook-secret"}
	for name, c := range lab.Clusters {
		kc[name] = serviceAccountKubeconfig(t, c, installNamespace, installServiceAccount)
		cfg, err := clientcmd.LoadFromFile(kc[name])
		g.Expect(err).NotTo(HaveOccurred())
		secrets["the ServiceAccount token of "+name] = cfg.AuthInfos[installServiceAccount].Token
	}
	sourceVolume(t, east, "sec-a", randomBytes(t, 64<<10))
	repo := newPlanRepo(t, lab, "secrets")
	repo.commit(t, "protect sec-a", map[string]string{"sec.yaml": planYAML("sec", "@every 1h", "2h", "sec-a")})
	a := startAgent(t, lab, repo, agentOpts{forge: true, webhook: true, debug: true, kubeconfigs: kc})
	api, err := lab.Gitea.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	owner := lab.Gitea.Admin

	add := gitFile(t, api, owner, repo.Name, "more", "sec-b.yaml", planYAML("sec-b", "@every 1h", "2h", "sec-a"), "")
	pr := openPR(t, api, owner, repo.Name, "more", "A second plan on the same volume (a conflict)")
	waitComment(t, api, owner, repo.Name, pr.Index, add.Commit.SHA)
	g.Eventually(func(g Gomega) {
		src := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("sec-a"), src)).To(Succeed())
		g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-sec", "enabled"))
		_, err := east.Sim.RunRecurringJob(ctx, "drplan-sec")
		g.Expect(err).NotTo(HaveOccurred())
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", west.API.Kubeconfig, "-n", ns, "get", "drplanstatus", "sec").CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), string(out))
	}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())

	seen := map[string]string{"the agent's log": agentLog(t, a)}
	for _, path := range []string{"http://" + a.status + "/status", "http://" + a.metric + "/metrics"} {
		resp, err := http.Get(path)
		g.Expect(err).NotTo(HaveOccurred())
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		g.Expect(err).NotTo(HaveOccurred())
		seen[path] = string(b)
	}
	comments, _, err := api.ListRepoIssueComments(owner, repo.Name, gitea.ListIssueCommentOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(comments).NotTo(BeEmpty())
	for _, c := range comments {
		seen["comment "+c.HTMLURL] = c.Body
	}
	statuses, _, err := api.ListStatuses(owner, repo.Name, add.Commit.SHA, gitea.ListStatusesOption{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(statuses).NotTo(BeEmpty())
	for _, s := range statuses {
		seen["commit status "+s.Context] = s.Description + " " + s.TargetURL
	}
	for name, c := range lab.Clusters {
		for _, what := range []string{"events", "drplanstatuses"} {
			out, err := exec.CommandContext(ctx, "kubectl", "--kubeconfig", c.API.Kubeconfig, "get", what, "-A", "-o", "yaml").CombinedOutput()
			g.Expect(err).NotTo(HaveOccurred(), string(out))
			seen[what+" in "+name] = string(out)
		}
	}
	g.Expect(seen["events in west"]).To(ContainSubstring("drplan"), "the agent's events are there to grep")
	for where, text := range seen {
		for what, secret := range secrets {
			g.Expect(secret).NotTo(BeEmpty())
			g.Expect(strings.Contains(text, secret)).To(BeFalse(), "%s appears in %s", what, where)
		}
	}
}
