package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim"
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

// TestFailoverBlockedWithoutStandby: a plan is merged with failover: true before any of its
// standby volumes exists. The preview says merging cannot succeed and its status fails; once
// merged, nothing is written in either cluster and status says blocked, with the volumes. A
// later commit (failover back to false, then true once the standbys caught up) lets it proceed.
func TestFailoverBlockedWithoutStandby(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := foPlan{name: "fb", catchUp: "1m", failover: true,
		waves:   []foWave{{name: "db"}},
		volumes: []foVolume{{name: "fb-a", wave: "db"}, {name: "fb-b", wave: "db"}}}
	data := map[string][]byte{}
	for _, v := range p.volumes {
		data[v.name] = randomBytes(t, 64<<10)
		sourceVolume(t, east, v.name, data[v.name])
	}
	repo := newPlanRepo(t, lab, p.name)
	repo.commit(t, "start", map[string]string{"README.md": "plans\n"})
	a := startAgent(t, lab, repo, agentOpts{forge: true})
	api, err := lab.Gitea.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	owner := lab.Gitea.Admin

	t.Log("the preview of a pull request adding the plan with failover: true says it cannot succeed")
	add := gitFile(t, api, owner, repo.Name, "fb-now", "fb.yaml", p.yaml(), "")
	pr := openPR(t, api, owner, repo.Name, "fb-now", "Fail over fb now")
	body := waitComment(t, api, owner, repo.Name, pr.Index, add.Commit.SHA)
	g.Expect(body).To(ContainSubstring("merging cannot fail over `fb`"))
	g.Expect(body).To(ContainSubstring("nothing to activate in cluster west for every volume (volume fb-a has no standby volume; volume fb-b has no standby volume)"))
	waitStatus(t, api, owner, repo.Name, add.Commit.SHA, gitea.StatusFailure)

	t.Log("merged anyway: blocked, and nothing is written in either cluster")
	_, _, err = api.MergePullRequest(owner, repo.Name, pr.Index, gitea.MergePullRequestOption{Style: gitea.MergeStyleMerge})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans).To(HaveLen(1))
		fs := st.Plans[0].FailoverStatus
		g.Expect(fs).NotTo(BeNil())
		g.Expect(fs.Phase).To(Equal(planner.FailoverBlocked))
		g.Expect(fs.Waiting).To(ContainSubstring("volume fb-a has no standby volume; volume fb-b has no standby volume"))
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(west.Client.Get(ctx, key(planner.RecordName(p.name)), &corev1.ConfigMap{}))).To(BeTrue(), "no failover record")
		g.Expect(apierrors.IsNotFound(east.Client.Get(ctx, key("drplan-fb"), &longhorn.RecurringJob{}))).To(BeTrue(), "no recurring job")
		for _, v := range p.volumes {
			g.Expect(apierrors.IsNotFound(west.Client.Get(ctx, key(v.name), &longhorn.Volume{}))).To(BeTrue(), "no standby volume %s", v.name)
			src := &longhorn.Volume{}
			g.Expect(east.Client.Get(ctx, key(v.name), src)).To(Succeed())
			g.Expect(src.Labels).NotTo(HaveKey("recurring-job.longhorn.io/drplan-fb"), "source %s untouched", v.name)
		}
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.LastPass.Actions).To(BeZero())
	}).WithTimeout(4 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	out, _ := runCLI(t, "status", "--config", a.config)
	g.Expect(out).To(ContainSubstring("Failover BLOCKED"))

	t.Log("the way out: failover false until the standby volumes caught up, then true again")
	p.failover = false
	repo.pull(t)
	repo.commit(t, "protect fb first", map[string]string{"fb.yaml": p.yaml()})
	runPlanJob(t, east, p)
	for _, v := range p.volumes {
		waitStandbyRestored(t, west, v.name, data[v.name], 90*time.Second)
		g.Expect(east.Sim.Detach(ctx, v.name)).To(Succeed(), "the application on east is stopped")
	}
	p.failover = true
	repo.commit(t, "fail over fb", map[string]string{"fb.yaml": p.yaml()})
	waitFailoverDone(t, west, p.name, 2*time.Minute)
	for _, v := range p.volumes {
		want, err := east.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		got, err := west.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want), "volume %s on west holds east's data", v.name)
	}
}

// TestActivatedOutsideDrplan: a standby volume is activated by hand (the Longhorn docs' way)
// while the plan's failover is false. Status says so, not "reverted"; a commit setting failover
// to true adopts it (no second activation), activates the others and fences the old primary.
func TestActivatedOutsideDrplan(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := foPlan{name: "fh", catchUp: "1m",
		waves:   []foWave{{name: "db"}},
		volumes: []foVolume{{name: "fh-a", wave: "db"}, {name: "fh-b", wave: "db"}}}
	setup := protectForFailover(t, lab, east, west, p)
	repo, a := setup.repo, setup.agent

	t.Log("a person activates fh-a by hand")
	vol := &longhorn.Volume{}
	g.Expect(west.Client.Get(ctx, key("fh-a"), vol)).To(Succeed())
	patch := client.MergeFrom(vol.DeepCopy())
	vol.Spec.Standby = false
	vol.Spec.Frontend = longhorn.VolumeFrontendBlockDev
	g.Expect(west.Client.Patch(ctx, vol, patch)).To(Succeed())
	var activatedAt string
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		fs := st.Plans[0].FailoverStatus
		g.Expect(fs).NotTo(BeNil())
		g.Expect(fs.Phase).To(Equal(planner.FailoverActivatedOutside))
		g.Expect(st.Plans[0].Problems).To(ContainElement(And(ContainSubstring("standby volume fh-a in cluster west activated outside drplan"),
			Not(ContainSubstring("set back to false")))))
		v := &longhorn.Volume{}
		g.Expect(west.Client.Get(ctx, key("fh-a"), v)).To(Succeed())
		g.Expect(longhorn.ActivationSettled(v)).To(BeTrue())
		activatedAt = v.Annotations[longhornsim.AnnotationActivationRequestedAt]
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	out, _ := runCLI(t, "status", "--config", a.config)
	g.Expect(out).To(ContainSubstring("Failover ACTIVATED-OUTSIDE"))
	g.Expect(out).NotTo(ContainSubstring("REVERTED"))

	t.Log("failover: true adopts it and fences the old primary")
	for _, v := range p.volumes {
		g.Expect(east.Sim.Detach(ctx, v.name)).To(Succeed(), "the application on east is stopped")
	}
	p.failover = true
	repo.commit(t, "fail over fh: adopt what was activated", map[string]string{"fh.yaml": p.yaml()})
	waitFailoverDone(t, west, p.name, 2*time.Minute)
	v := &longhorn.Volume{}
	g.Expect(west.Client.Get(ctx, key("fh-a"), v)).To(Succeed())
	g.Expect(v.Annotations[longhornsim.AnnotationActivationRequestedAt]).To(Equal(activatedAt))
	log, err := os.ReadFile(a.log)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(log)).NotTo(ContainSubstring("activate Volume longhorn-system/fh-a"), "fh-a is adopted, not activated a second time")
	g.Expect(string(log)).To(ContainSubstring("activate Volume longhorn-system/fh-b"))
	g.Expect(west.Client.Get(ctx, key("fh-b"), v)).To(Succeed())
	g.Expect(longhorn.ActivationSettled(v)).To(BeTrue())
	checkFenced(t, east, p)
}

// TestFailoverCELGate: a wave gates on CEL expressions over an object of the application (a
// ConfigMap it writes when ready), evaluated as Flux evaluates custom health checks: the wave
// waits while the expressions say in progress, shows a failed one as failed, and the failover
// completes once current is true.
func TestFailoverCELGate(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := foPlan{name: "celg", catchUp: "1m",
		waves:   []foWave{{name: "db", gate: `{apiVersion: v1, kind: ConfigMap, namespace: celg, name: flag, timeout: 30m, current: "data.ready == 'yes'", failed: "data.ready == 'broken'"}`}},
		volumes: []foVolume{{name: "celg-a", wave: "db"}}}
	g.Expect(client.IgnoreAlreadyExists(west.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "celg"}}))).To(Succeed())
	flag := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "celg", Name: "flag"}, Data: map[string]string{"ready": "no"}}
	g.Expect(west.Client.Create(ctx, flag)).To(Succeed())
	setup := protectForFailover(t, lab, east, west, p)
	g.Expect(east.Sim.Detach(ctx, "celg-a")).To(Succeed(), "the application on east is stopped already")
	p.failover = true
	setup.repo.commit(t, "fail over celg", map[string]string{"celg.yaml": p.yaml()})
	gate := func(want string) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			st, err := setup.agent.getStatus()
			g.Expect(err).NotTo(HaveOccurred())
			gr := waveGate(g, st.Plans[0].FailoverStatus, "db")
			g.Expect(gr.Ready).To(BeFalse())
			g.Expect(gr.Message).To(Equal(want))
		}).WithTimeout(2 * time.Minute).WithPolling(poll).Should(Succeed())
	}
	t.Log("ready: no, the expressions say in progress")
	gate("InProgress (CEL)")
	t.Log("ready: broken, failed")
	flag.Data["ready"] = "broken"
	g.Expect(west.Client.Update(ctx, flag)).To(Succeed())
	gate("Failed (CEL)")
	t.Log("ready: yes, current: the failover completes")
	flag.Data["ready"] = "yes"
	g.Expect(west.Client.Update(ctx, flag)).To(Succeed())
	rec := waitFailoverDone(t, west, p.name, 2*time.Minute)
	g.Expect(rec.FinishedAt.IsZero()).To(BeFalse())
}
