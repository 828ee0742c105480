package e2e

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/planner"
)

// TestFailoverGateReadOnDemand: a wave gates on a kind the agent's caches do not hold (a
// ConfigMap of the application, read on demand while the wave runs). While the failover waits
// on it, `drplan diff` and the preview of a pull request show that gate exactly as the running
// agent does: the loop, the preview and the diff share one gather-and-decide path. Once the
// ConfigMap exists, the failover completes.
func TestFailoverGateReadOnDemand(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := foPlan{name: "fg", catchUp: "1m",
		waves: []foWave{
			{name: "db", gate: "{apiVersion: v1, kind: ConfigMap, namespace: fg, name: go-ahead, timeout: 30m}"},
			{name: "app"},
		},
		volumes: []foVolume{{name: "fg-a", wave: "db"}, {name: "fg-b", wave: "app"}}}
	g.Expect(client.IgnoreAlreadyExists(west.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fg"}}))).To(Succeed())
	setup := protectForFailover(t, lab, east, west, p, agentOpts{forge: true})
	repo, a := setup.repo, setup.agent
	for _, v := range p.volumes {
		g.Expect(east.Sim.Detach(ctx, v.name)).To(Succeed(), "the application on east is stopped already")
	}
	p.failover = true
	repo.commit(t, "fail over fg", map[string]string{"fg.yaml": p.yaml()})

	t.Log("the failover waits on the gate the caches do not hold")
	var loop planner.GateReport
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans).To(HaveLen(1))
		loop = waveGate(g, st.Plans[0].FailoverStatus, "db")
		g.Expect(loop.Ready).To(BeFalse())
		g.Expect(loop.Message).To(ContainSubstring("not found"))
	}).WithTimeout(2 * time.Minute).WithPolling(poll).Should(Succeed())
	t.Logf("the agent's gate: ready=%t %q", loop.Ready, loop.Message)

	t.Log("drplan diff reads it too")
	out, code := runCLI(t, "diff", "--config", a.config, "-o", "json")
	g.Expect(code).To(BeElementOf(0, 2), "diff: %s", out)
	var diff struct {
		Report planner.Report `json:"report"`
	}
	g.Expect(json.Unmarshal([]byte(out), &diff)).To(Succeed(), out)
	g.Expect(diff.Report.Plans).To(HaveLen(1))
	got := waveGate(g, diff.Report.Plans[0].FailoverStatus, "db")
	g.Expect(got.Ready).To(Equal(loop.Ready))
	g.Expect(got.Message).To(Equal(loop.Message), "drplan diff shows the gate as the agent sees it")

	t.Log("so does the preview of a pull request made during the failover")
	api, err := lab.Gitea.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	owner := lab.Gitea.Admin
	cur, _, err := api.GetContents(owner, repo.Name, "main", "fg.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	changed := strings.Replace(p.yaml(), "rpo: 90m", "rpo: 2h", 1)
	upd, _, err := api.UpdateFile(owner, repo.Name, "fg.yaml", gitea.UpdateFileOptions{
		FileOptions: gitea.FileOptions{Message: "fg: rpo 2h", BranchName: "main", NewBranchName: "fg-rpo"},
		SHA:         cur.SHA, Content: base64.StdEncoding.EncodeToString([]byte(changed))})
	g.Expect(err).NotTo(HaveOccurred())
	pr := openPR(t, api, owner, repo.Name, "fg-rpo", "fg: rpo 2h")
	body := waitComment(t, api, owner, repo.Name, pr.Index, upd.Commit.SHA)
	g.Expect(body).To(ContainSubstring("Failover of `fg`"))
	g.Expect(body).To(ContainSubstring("ConfigMap fg/go-ahead: "+loop.Message), "the preview shows the gate as the agent sees it")

	t.Log("the ConfigMap appears: the failover completes")
	g.Expect(west.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "fg", Name: "go-ahead"}})).To(Succeed())
	waitFailoverDone(t, west, p.name, 2*time.Minute)
}

// waveGate returns the first gate of a wave's step in a failover report.
func waveGate(g Gomega, fs *planner.FailoverReport, wave string) planner.GateReport {
	g.Expect(fs).NotTo(BeNil(), "no failover status yet")
	for _, s := range fs.Steps {
		if s.Wave == wave {
			g.Expect(s.State).To(Equal(planner.StepRunning), "wave %s", wave)
			g.Expect(s.Gates).NotTo(BeEmpty())
			return s.Gates[0]
		}
	}
	g.Expect(fs.Steps).To(ContainElement(HaveField("Wave", wave)))
	return planner.GateReport{}
}
