package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim"
	"github.com/drplan/drplan/internal/planner"
)

// Failover end to end: the built agent, two API servers with the Longhorn simulator, Gitea. In
// a planned switchover the test plays kubelet on east: once the agent scaled the plan's
// workloads to zero there, it detaches their volumes (Sim.Detach), as kubelet and CSI would
// when the pods are gone.

// TestFailoverPlannedThreeWaves: a planned switchover of a three-wave plan (database, queue,
// app). The waves run in order: no volume of a wave is asked to activate before the test saw
// every gate of the wave before it ready. Each standby volume ends with exactly east's last
// data (a final backup taken after the workloads stopped), the old primary is fenced, and
// status shows the timeline, the RTO and zero data loss.
func TestFailoverPlannedThreeWaves(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := threeWavePlan("fw")
	data := protectForFailover(t, lab, east, west, p)
	repo, a := data.repo, data.agent

	t.Log("east's last writes, after the last scheduled backup")
	for _, v := range p.volumes {
		last := randomBytes(t, 64<<10)
		g.Expect(east.Sim.WriteVolume(ctx, v.name, 64<<10, last)).To(Succeed())
	}
	ready := watchReady(t, west, p)
	go playKubelet(ctx, east, p)
	p.failover = true
	start := time.Now()
	repo.commit(t, "fail over fw to west", map[string]string{"fw.yaml": p.yaml()})
	rec := waitFailoverDone(t, west, p.name, 3*time.Minute)
	t.Logf("failover done %s after the commit; recorded RTO %s", time.Since(start).Round(time.Millisecond), rec.FinishedAt.Sub(rec.StartedAt).Round(time.Millisecond))

	g.Expect(rec.Planned).To(BeTrue())
	checkWaveOrder(t, west, p, rec, ready.snapshot())
	for _, v := range p.volumes {
		want, err := east.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		got, err := west.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want), "volume %s on west holds east's last data", v.name)
	}
	checkFinalBackupsOnce(t, east, p, rec)
	checkClaims(t, west, p)
	checkFenced(t, east, p)

	fs := waitFailoverStatus(t, a, planner.FailoverComplete)
	g.Expect(fs.Planned).To(BeTrue())
	g.Expect(fs.DataLossKnown).To(BeTrue())
	g.Expect(fs.DataLoss.Duration).To(BeZero())
	g.Expect(fs.RTO.Duration).To(BeNumerically(">", 0))
	for _, v := range fs.Volumes {
		g.Expect(v.Active).To(BeTrue(), "volume %s", v.Name)
		g.Expect(v.FinalBackup).To(BeTrue(), "volume %s restored its final backup", v.Name)
	}
	out, code := runCLI(t, "status", "--config", a.config)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("Failover COMPLETE: planned switchover"))
	g.Expect(out).To(ContainSubstring("none (final backup)"))
	g.Expect(out).To(ContainSubstring("failover complete: RTO"))
	t.Logf("drplan status:\n%s", out)
}

// TestFailoverSurvivesAgentKills: the agent is killed (SIGKILL) at ten different points of a
// planned switchover and started again each time. The failover always finishes, the waves keep
// their order, every final backup exists once, every step is recorded once, and every standby
// volume was asked to activate once (after its wave started) and is active.
func TestFailoverSurvivesAgentKills(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := threeWavePlan("fk")
	setup := protectForFailover(t, lab, east, west, p)
	repo, a := setup.repo, setup.agent
	ready := watchReady(t, west, p)
	go playKubelet(ctx, east, p)
	p.failover = true
	repo.commit(t, "fail over fk to west", map[string]string{"fk.yaml": p.yaml()})

	record := func() *planner.FailoverRecord { r, _ := readRecord(ctx, west, p.name); return r }
	hasStep := func(name string) func() bool {
		return func() bool { r := record(); return r != nil && stepOf(r, name) != nil }
	}
	standbyFalse := func(vol string) func() bool {
		return func() bool {
			v := &longhorn.Volume{}
			return west.Client.Get(ctx, key(vol), v) == nil && !v.Spec.Standby
		}
	}
	points := []struct {
		name string
		at   func() bool
	}{
		{"the record was written", func() bool { return record() != nil }},
		{"east's workloads scaled down", func() bool {
			d := &appsv1.Deployment{}
			return east.Client.Get(ctx, client.ObjectKey{Namespace: p.name, Name: "queue"}, d) == nil && *d.Spec.Replicas == 0
		}},
		{"a final backup was asked for", func() bool { return countFinalBackups(ctx, east, p) > 0 }},
		{"catch-up started", hasStep(planner.StepCatchUp)},
		{"wave db started", hasStep(planner.WaveStep("db"))},
		{"wave db's volume asked to activate", standbyFalse(p.name + "-db")},
		{"wave db's PersistentVolume exists", func() bool {
			return west.Client.Get(ctx, client.ObjectKey{Name: p.name + "-db"}, &corev1.PersistentVolume{}) == nil
		}},
		{"wave queue started", hasStep(planner.WaveStep("queue"))},
		{"wave queue's volume asked to activate", standbyFalse(p.name + "-queue")},
		{"wave app started", hasStep(planner.WaveStep("app"))},
	}
	for i, pt := range points {
		g.Eventually(pt.at).WithTimeout(3*time.Minute).WithPolling(20*time.Millisecond).Should(BeTrue(), "kill point %d: %s", i+1, pt.name)
		a.kill()
		t.Logf("kill %d: agent killed once %s", i+1, pt.name)
		a.start("1s")
	}
	rec := waitFailoverDone(t, west, p.name, 3*time.Minute)
	checkWaveOrder(t, west, p, rec, ready.snapshot())
	checkFinalBackupsOnce(t, east, p, rec)
	names := map[string]int{}
	for _, s := range rec.Steps {
		names[s.Name]++
	}
	g.Expect(names).To(Equal(map[string]int{planner.StepFinalBackup: 1, planner.StepCatchUp: 1,
		planner.WaveStep("db"): 1, planner.WaveStep("queue"): 1, planner.WaveStep("app"): 1}), "each step recorded once")
	for _, v := range p.volumes {
		want, err := east.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		got, err := west.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want), "volume %s", v.name)
	}
	checkClaims(t, west, p)
	checkFenced(t, east, p)
}

// TestFailoverUnplanned: east stops answering, then failover is set. The standby volumes are
// activated with what west restored (the writes east made after its last backup are lost), and
// status reports the data-loss window of each volume and that no final backup was possible.
func TestFailoverUnplanned(t *testing.T) {
	t.Parallel()
	lab, view := ownLab(t, "unplanned")
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := foPlan{name: "fu", catchUp: "30s", waves: []foWave{{name: "default"}},
		volumes: []foVolume{{name: "fu-a", wave: "default"}, {name: "fu-b", wave: "default"}}}
	setup := protectForFailover(t, view, east, west, p)
	repo, a := setup.repo, setup.agent
	backedUp := time.Now()
	for _, v := range p.volumes {
		g.Expect(east.Sim.WriteVolume(ctx, v.name, 0, randomBytes(t, 64<<10))).To(Succeed(), "a write east makes after its last backup")
	}

	t.Log("east stops answering; then failover is set")
	g.Expect(lab.StopCluster("east")).To(Succeed())
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Clusters["east"].Reachable).To(BeFalse())
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	p.failover = true
	committed := time.Now()
	repo.commit(t, "fail over fu to west: east is gone", map[string]string{"fu.yaml": p.yaml()})
	rec := waitFailoverDone(t, west, p.name, 3*time.Minute)

	g.Expect(rec.Planned).To(BeFalse())
	g.Expect(stepOf(rec, planner.StepFinalBackup).Note).To(ContainSubstring("skipped: primary east"))
	for _, v := range p.volumes {
		got, err := west.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(setup.data[v.name]), "volume %s holds the data of east's last backup, not the later write", v.name)
		vol := &longhorn.Volume{}
		g.Expect(west.Client.Get(ctx, key(v.name), vol)).To(Succeed())
		g.Expect(longhorn.ActivationSettled(vol)).To(BeTrue())
	}
	g.Expect(rec.Volumes).To(HaveLen(2))
	for _, v := range rec.Volumes {
		g.Expect(v.DataLossKnown).To(BeTrue())
		g.Expect(v.FinalBackup).To(BeFalse())
		g.Expect(v.DataLoss.Duration).To(BeNumerically(">=", committed.Sub(backedUp)), "at least the time between the last backup and the failover")
	}
	fs := waitFailoverStatus(t, a, planner.FailoverComplete)
	g.Expect(fs.DataLossKnown).To(BeTrue())
	g.Expect(fs.DataLoss.Duration).To(BeNumerically(">", 0))
	g.Expect(strings.Join(fs.Notes, "\n")).To(ContainSubstring("old primary east does not answer"))
	out, code := runCLI(t, "status", "--config", a.config)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("Failover COMPLETE: unplanned failover"))
	g.Expect(out).To(MatchRegexp(`fu-a\s+default\s+true\s+backup-[0-9a-f]{16}\s+(\d+m)?\d+s`))
	t.Logf("drplan status:\n%s", out)
}

// TestFailoverDegradedHoldsWaveThenRevert: one standby volume of the first wave is degraded and
// Longhorn's setting allow-volume-creation-with-degraded-availability is false in west. The
// wave holds with that reason and none of its volumes is activated; once the setting is true
// the failover goes on and finishes. Then failover is set back to false: nothing changes in
// either cluster (no recurring job comes back on east, the volumes stay active), and status
// says failback is a new plan with the roles swapped.
func TestFailoverDegradedHoldsWaveThenRevert(t *testing.T) {
	t.Parallel()
	lab, view := ownLab(t, "degraded")
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := foPlan{name: "fd", catchUp: "1m", allowDegraded: true,
		waves:   []foWave{{name: "db"}, {name: "app"}},
		volumes: []foVolume{{name: "fd-a", wave: "db"}, {name: "fd-b", wave: "db"}, {name: "fd-c", wave: "app"}}}
	setup := protectForFailover(t, view, east, west, p)
	repo, a := setup.repo, setup.agent
	for _, v := range p.volumes {
		g.Expect(east.Sim.Detach(ctx, v.name)).To(Succeed(), "the application on east is stopped already")
	}
	g.Expect(west.Sim.FailReplicas(ctx, "fd-b", 1)).To(Succeed())
	g.Eventually(func(g Gomega) {
		v := &longhorn.Volume{}
		g.Expect(west.Client.Get(ctx, key("fd-b"), v)).To(Succeed())
		g.Expect(v.Status.Robustness).To(Equal(longhorn.VolumeRobustnessDegraded))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	setDegradedSetting(t, west, "false")

	p.failover = true
	repo.commit(t, "fail over fd", map[string]string{"fd.yaml": p.yaml()})
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		fs := st.Plans[0].FailoverStatus
		g.Expect(fs).NotTo(BeNil())
		g.Expect(fs.Waiting).To(ContainSubstring("wave db holds, none of its volumes is activated"))
		g.Expect(fs.Waiting).To(ContainSubstring("volume fd-b is degraded and Longhorn's setting allow-volume-creation-with-degraded-availability is false in cluster west"))
	}).WithTimeout(2 * time.Minute).WithPolling(poll).Should(Succeed())
	g.Consistently(func(g Gomega) {
		for _, name := range []string{"fd-a", "fd-b", "fd-c"} {
			v := &longhorn.Volume{}
			g.Expect(west.Client.Get(ctx, key(name), v)).To(Succeed())
			g.Expect(v.Spec.Standby).To(BeTrue(), "volume %s: the held wave is not half-activated", name)
			g.Expect(v.Annotations).NotTo(HaveKey(longhornsim.AnnotationActivationRequestedAt))
		}
	}).WithTimeout(3 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	out, _ := runCLI(t, "status", "--config", a.config)
	g.Expect(out).To(ContainSubstring("failover waits: wave db holds"))

	t.Log("the setting turns true: the wave goes on")
	setDegradedSetting(t, west, "true")
	rec := waitFailoverDone(t, west, p.name, 2*time.Minute)
	for _, v := range p.volumes {
		vol := &longhorn.Volume{}
		g.Expect(west.Client.Get(ctx, key(v.name), vol)).To(Succeed())
		g.Expect(longhorn.ActivationSettled(vol)).To(BeTrue(), "volume %s", v.name)
	}

	t.Log("failover back to false: nothing changes, and status says so")
	p.failover = false
	repo.commit(t, "revert failover of fd", map[string]string{"fd.yaml": p.yaml()})
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].Failover).To(BeFalse())
		g.Expect(st.Plans[0].FailoverStatus).NotTo(BeNil())
		g.Expect(st.Plans[0].FailoverStatus.Phase).To(Equal(planner.FailoverReverted))
		g.Expect(st.Plans[0].Problems).To(ContainElement(ContainSubstring("failback is a new plan with the roles swapped (primary west, secondary east)")))
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	g.Consistently(func(g Gomega) {
		err := east.Client.Get(ctx, key("drplan-fd"), &longhorn.RecurringJob{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no recurring job comes back on the old primary: %v", err)
		for _, v := range p.volumes {
			src := &longhorn.Volume{}
			g.Expect(east.Client.Get(ctx, key(v.name), src)).To(Succeed())
			g.Expect(src.Labels).NotTo(HaveKey("recurring-job.longhorn.io/drplan-fd"))
			vol := &longhorn.Volume{}
			g.Expect(west.Client.Get(ctx, key(v.name), vol)).To(Succeed())
			g.Expect(vol.Spec.Standby).To(BeFalse(), "volume %s stays active", v.name)
		}
		again, _ := readRecord(ctx, west, p.name)
		g.Expect(again.FinishedAt.Equal(rec.FinishedAt)).To(BeTrue(), "the record is not touched")
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.LastPass.Actions).To(BeZero(), "a pass decides nothing")
	}).WithTimeout(5 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	out, code := runCLI(t, "status", "--config", a.config)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("Failover REVERTED"))
	t.Logf("drplan status after the revert:\n%s", out)
}

// plans -------------------------------------------------------------------------------------------

type foVolume struct{ name, wave, pvcNamespace, pvcName, standby string }

// standbyName is the volume's standby volume's name: its own unless the plan names another.
func (v foVolume) standbyName() string {
	if v.standby != "" {
		return v.standby
	}
	return v.name
}

type foWorkload struct {
	kind, name string
	replicas   int32
}

type foWave struct {
	name string
	// workload is scaled in the wave and gates it; none when kind is empty.
	workload foWorkload
	// gate is one more gate, a YAML flow mapping; none when empty.
	gate string
	// extra are more fields of the wave, YAML lines indented under it (apply, backupHooks).
	extra string
}

type foPlan struct {
	name          string
	volumes       []foVolume
	waves         []foWave
	failover      bool
	allowDegraded bool
	catchUp       string
	// schedule replaces the plan's schedule, a YAML flow mapping.
	schedule string
	// tail are more fields of the spec, YAML lines indented under it (traffic).
	tail string
	// files are more files of the plans repository, by path, committed with the plan.
	files map[string]string
}

// commitFiles are the plan's file and its other files, to commit.
func (p foPlan) commitFiles() map[string]string {
	out := map[string]string{p.name + ".yaml": p.yaml()}
	for k, v := range p.files {
		out[k] = v
	}
	return out
}

// threeWavePlan is a database, a queue and an app, one volume and one workload each, in the
// namespace named like the plan.
func threeWavePlan(name string) foPlan {
	return foPlan{name: name, catchUp: "2m",
		waves: []foWave{
			{name: "db", workload: foWorkload{"StatefulSet", "db", 1}},
			{name: "queue", workload: foWorkload{"Deployment", "queue", 2}},
			{name: "app", workload: foWorkload{"Deployment", "app", 2}},
		},
		volumes: []foVolume{
			{name: name + "-db", wave: "db", pvcNamespace: name, pvcName: "data-db-0"},
			{name: name + "-queue", wave: "queue", pvcNamespace: name, pvcName: "queue"},
			{name: name + "-app", wave: "app"},
		}}
}

func (p foPlan) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: %s
spec:
  primary: east
  secondary: west
  schedule: %s
  rpo: 90m
  failover: %t
  activation: {allowDegraded: %t, catchUpTimeout: %s}
  volumes:
`, p.name, cmp.Or(p.schedule, `{cron: "@every 1h", retain: 5}`), p.failover, p.allowDegraded, p.catchUp)
	for _, v := range p.volumes {
		fmt.Fprintf(&b, "    - {name: %s, replicas: 2, wave: %s", v.name, v.wave)
		if v.standby != "" {
			fmt.Fprintf(&b, ", standbyName: %s", v.standby)
		}
		if v.pvcName != "" {
			fmt.Fprintf(&b, ", pvc: {namespace: %s, name: %s}", v.pvcNamespace, v.pvcName)
		}
		b.WriteString("}\n")
	}
	b.WriteString("  waves:\n")
	for _, w := range p.waves {
		fmt.Fprintf(&b, "    - name: %s\n", w.name)
		var gates []string
		if wl := w.workload; wl.kind != "" {
			gates = append(gates, fmt.Sprintf("{kind: %s, namespace: %s, name: %s, timeout: 2m}", wl.kind, p.name, wl.name))
			fmt.Fprintf(&b, "      scale: [{kind: %s, namespace: %s, name: %s, replicas: %d}]\n", wl.kind, p.name, wl.name, wl.replicas)
		}
		if w.gate != "" {
			gates = append(gates, w.gate)
		}
		if len(gates) > 0 {
			fmt.Fprintf(&b, "      gates: [%s]\n", strings.Join(gates, ", "))
		}
		b.WriteString(w.extra)
	}
	b.WriteString(p.tail)
	return b.String()
}

func (p foPlan) waveOf(volume string) string {
	for _, v := range p.volumes {
		if v.name == volume {
			return v.wave
		}
	}
	return ""
}

// setup -------------------------------------------------------------------------------------------

type protected struct {
	repo  *planRepo
	agent *agentProc
	// data is each volume's data as backed up before the failover.
	data map[string][]byte
}

// protectForFailover creates the plan's source volumes (with data) and workloads (running on
// east, at zero on west), commits the plan with failover false, runs its recurring job once and
// waits until every standby volume restored that backup.
func protectForFailover(t *testing.T, lab *drlab.Lab, east, west *drlab.Cluster, p foPlan, opts ...agentOpts) protected {
	t.Helper()
	g := NewWithT(t)
	ctx := t.Context()
	out := protected{data: map[string][]byte{}}
	for _, v := range p.volumes {
		out.data[v.name] = randomBytes(t, 2*64<<10)
		sourceVolume(t, east, v.name, out.data[v.name])
	}
	for _, c := range []*drlab.Cluster{east, west} {
		if hasWorkloads(p) {
			g.Expect(client.IgnoreAlreadyExists(c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.name}}))).To(Succeed())
		}
		for _, w := range p.waves {
			if w.workload.kind == "" {
				continue
			}
			replicas := w.workload.replicas
			if c == west {
				replicas = 0
			}
			g.Expect(c.Client.Create(ctx, workload(p.name, w.workload, replicas))).To(Succeed())
		}
	}
	p.failover = false
	out.repo = newPlanRepo(t, lab, p.name)
	out.repo.commit(t, "protect "+p.name, p.commitFiles())
	o := agentOpts{}
	if len(opts) > 0 {
		o = opts[0]
	}
	out.agent = startAgent(t, lab, out.repo, o)
	runPlanJob(t, east, p)
	for _, v := range p.volumes {
		waitStandbyRestored(t, west, v.name, out.data[v.name], 90*time.Second)
	}
	return out
}

// runPlanJob runs plan p's recurring job in the primary c once every source volume of p is bound
// to it: run earlier, it would back up only the volumes the agent labelled so far.
func runPlanJob(t *testing.T, c *drlab.Cluster, p foPlan) {
	t.Helper()
	ctx := t.Context()
	NewWithT(t).Eventually(func(g Gomega) {
		for _, v := range p.volumes {
			src := &longhorn.Volume{}
			g.Expect(c.Client.Get(ctx, key(v.name), src)).To(Succeed())
			g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-"+p.name, "enabled"))
		}
		_, err := c.Sim.RunRecurringJob(ctx, "drplan-"+p.name)
		g.Expect(err).NotTo(HaveOccurred())
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
}

func hasWorkloads(p foPlan) bool {
	for _, w := range p.waves {
		if w.workload.kind != "" {
			return true
		}
	}
	return false
}

func workload(ns string, w foWorkload, replicas int32) client.Object {
	labels := map[string]string{"app": w.name}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: w.name, Image: "registry.invalid/" + w.name}}}}
	meta := metav1.ObjectMeta{Name: w.name, Namespace: ns}
	sel := &metav1.LabelSelector{MatchLabels: labels}
	if w.kind == "StatefulSet" {
		return &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas), Selector: sel, Template: tmpl, ServiceName: w.name}}
	}
	return &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: sel, Template: tmpl}}
}

// ownLab starts a lab of this scenario's own (it stops or breaks components), without Gitea:
// the plans repo lives in the shared lab's Gitea. view is that lab with the shared Gitea, for
// newPlanRepo and startAgent; stop only the lab itself.
func ownLab(t *testing.T, name string) (lab, view *drlab.Lab) {
	t.Helper()
	return ownLabPolling(t, name, sharedPoll)
}

// ownLabPolling is ownLab with the BackupTargets polling the store every poll.
func ownLabPolling(t *testing.T, name string, poll time.Duration) (lab, view *drlab.Lab) {
	t.Helper()
	shared := requireLab(t)
	g := NewWithT(t)
	dir, err := os.MkdirTemp("", "drplan-e2e-"+name+"-")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	lab, err = drlab.Start(t.Context(), drlab.Options{Dir: filepath.Join(dir, "lab"), PollInterval: poll, Logger: labLogger(dir)})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = lab.Stop() })
	view = &drlab.Lab{Dir: lab.Dir, Tools: lab.Tools, Store: lab.Store, Clusters: lab.Clusters, Gitea: shared.Gitea}
	return lab, view
}

// kill ends the agent with SIGKILL: no shutdown, the lease is left to expire.
func (a *agentProc) kill() {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	a.cmd = nil
}

func setDegradedSetting(t *testing.T, c *drlab.Cluster, value string) {
	t.Helper()
	s := &longhorn.Setting{ObjectMeta: metav1.ObjectMeta{Name: longhorn.SettingAllowDegradedAvailability, Namespace: ns}}
	patch := fmt.Sprintf(`{"value":%q}`, value)
	NewWithT(t).Expect(c.Client.Patch(t.Context(), s, client.RawPatch("application/merge-patch+json", []byte(patch)))).To(Succeed())
}

// playKubelet stands in for kubelet and CSI on east: once the plan's workloads there are scaled
// to zero, their pods are gone and the volumes detach.
func playKubelet(ctx context.Context, east *drlab.Cluster, p foPlan) {
	for ctx.Err() == nil {
		down := true
		for _, w := range p.waves {
			if w.workload.kind == "" {
				continue
			}
			obj := workload(p.name, w.workload, 0)
			if err := east.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil || specReplicas(obj) != 0 {
				down = false
			}
		}
		if down {
			for _, v := range p.volumes {
				for ctx.Err() == nil && east.Sim.Detach(ctx, v.name) != nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func specReplicas(obj client.Object) int32 {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return ptr.Deref(o.Spec.Replicas, 1)
	case *appsv1.StatefulSet:
		return ptr.Deref(o.Spec.Replicas, 1)
	}
	return -1
}

// readyWatch records, for each workload of the plan in west, the first time the test saw it
// scaled up and ready: an upper bound of when it became ready.
type readyWatch struct {
	mu sync.Mutex
	at map[string]time.Time
}

func watchReady(t *testing.T, west *drlab.Cluster, p foPlan) *readyWatch {
	r := &readyWatch{at: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, w := range p.waves {
				if w.workload.kind == "" || !r.snapshot()[w.name].IsZero() {
					continue
				}
				obj := workload(p.name, w.workload, 0)
				if err := west.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
					continue
				}
				if scaledAndReady(obj) {
					seen := time.Now()
					r.mu.Lock()
					r.at[w.name] = seen
					r.mu.Unlock()
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return r
}

func (r *readyWatch) snapshot() map[string]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]time.Time, len(r.at))
	for k, v := range r.at {
		out[k] = v
	}
	return out
}

func scaledAndReady(obj client.Object) bool {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		n := ptr.Deref(o.Spec.Replicas, 1)
		return n > 0 && o.Status.ObservedGeneration == o.Generation && o.Status.ReadyReplicas == n && o.Status.UpdatedReplicas == n
	case *appsv1.StatefulSet:
		n := ptr.Deref(o.Spec.Replicas, 1)
		return n > 0 && o.Status.ObservedGeneration == o.Generation && o.Status.ReadyReplicas == n
	}
	return false
}

// checks ------------------------------------------------------------------------------------------

func readRecord(ctx context.Context, west *drlab.Cluster, plan string) (*planner.FailoverRecord, error) {
	cm := &corev1.ConfigMap{}
	if err := west.Client.Get(ctx, key(planner.RecordName(plan)), cm); err != nil {
		return nil, err
	}
	r := &planner.FailoverRecord{}
	if err := json.Unmarshal([]byte(cm.Data[planner.RecordKey]), r); err != nil {
		return nil, err
	}
	return r, nil
}

func stepOf(r *planner.FailoverRecord, name string) *planner.StepRecord {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// waitFailoverStatus waits until the agent's status shows the (only) plan's failover in phase.
func waitFailoverStatus(t *testing.T, a *agentProc, phase planner.FailoverPhase) *planner.FailoverReport {
	t.Helper()
	var fs *planner.FailoverReport
	NewWithT(t).Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans).To(HaveLen(1))
		fs = st.Plans[0].FailoverStatus
		g.Expect(fs).NotTo(BeNil())
		g.Expect(fs.Phase).To(Equal(phase))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	return fs
}

// waitFailoverDone waits until the record in west says the failover finished.
func waitFailoverDone(t *testing.T, west *drlab.Cluster, plan string, within time.Duration) *planner.FailoverRecord {
	t.Helper()
	var rec *planner.FailoverRecord
	NewWithT(t).Eventually(func(g Gomega) {
		r, err := readRecord(t.Context(), west, plan)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.FinishedAt.IsZero()).To(BeFalse(), "steps so far: %+v", r.Steps)
		rec = r
	}).WithTimeout(within).WithPolling(200 * time.Millisecond).Should(Succeed())
	return rec
}

// checkWaveOrder checks, from the simulator's timestamps, that each standby volume was asked to
// activate once its wave had started (the record) and after every gate of the wave before was
// seen ready by the test (readyAt), and that its activation finished.
func checkWaveOrder(t *testing.T, west *drlab.Cluster, p foPlan, rec *planner.FailoverRecord, readyAt map[string]time.Time) {
	t.Helper()
	g := NewWithT(t)
	for i, w := range p.waves {
		st := stepOf(rec, planner.WaveStep(w.name))
		g.Expect(st).NotTo(BeNil(), "wave %s recorded", w.name)
		for _, v := range p.volumes {
			if p.waveOf(v.name) != w.name {
				continue
			}
			vol := &longhorn.Volume{}
			g.Expect(west.Client.Get(t.Context(), key(v.name), vol)).To(Succeed())
			g.Expect(longhorn.ActivationSettled(vol)).To(BeTrue(), "volume %s settled", v.name)
			requested, ok, err := longhornsim.RecordedTime(vol, longhornsim.AnnotationActivationRequestedAt)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ok).To(BeTrue(), "volume %s: activation requested", v.name)
			finished, ok, err := longhornsim.RecordedTime(vol, longhornsim.AnnotationActivationFinishedAt)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ok).To(BeTrue())
			g.Expect(finished.After(requested)).To(BeTrue())
			g.Expect(requested.After(st.StartedAt)).To(BeTrue(), "volume %s asked to activate at %s, its wave %s started at %s", v.name, requested, w.name, st.StartedAt)
			if i == 0 {
				continue
			}
			prev := p.waves[i-1]
			if prev.workload.kind == "" {
				continue
			}
			ready := readyAt[prev.workload.name]
			g.Expect(ready.IsZero()).To(BeFalse(), "the test saw wave %s's gate ready", prev.name)
			g.Expect(requested.After(ready)).To(BeTrue(), "volume %s of wave %s asked to activate at %s, before wave %s's gate %s was seen ready at %s",
				v.name, w.name, requested.Format(time.StampMicro), prev.name, prev.workload.name, ready.Format(time.StampMicro))
			t.Logf("wave %s: volume %s asked to activate %s after wave %s's gate was seen ready", w.name, v.name, requested.Sub(ready).Round(time.Millisecond), prev.name)
		}
	}
}

// countFinalBackups counts the final backups of the plan in east: the Backup CRs drplan made
// (labelled with the plan; Longhorn's recurring ones are not).
func countFinalBackups(ctx context.Context, east *drlab.Cluster, p foPlan) int {
	var list longhorn.BackupList
	if err := east.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{planner.LabelPlan: p.name}); err != nil {
		return 0
	}
	return len(list.Items)
}

// checkFinalBackupsOnce checks that east has exactly one final backup per volume, named as the
// record's revision says, completed, each of a ready Snapshot CR of its volume (Longhorn's
// admission allows no other).
func checkFinalBackupsOnce(t *testing.T, east *drlab.Cluster, p foPlan, rec *planner.FailoverRecord) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(countFinalBackups(t.Context(), east, p)).To(Equal(len(p.volumes)))
	var snaps longhorn.SnapshotList
	g.Expect(east.Client.List(t.Context(), &snaps, client.InNamespace(ns), client.MatchingLabels{planner.LabelPlan: p.name})).To(Succeed())
	g.Expect(snaps.Items).To(HaveLen(len(p.volumes)), "one final snapshot per volume")
	for _, v := range p.volumes {
		b := &longhorn.Backup{}
		g.Expect(east.Client.Get(t.Context(), key(planner.FinalBackupName(p.name, v.name, rec.Revision)), b)).To(Succeed())
		g.Expect(b.Status.State).To(Equal(longhorn.BackupStateCompleted))
		g.Expect(b.Spec.SnapshotName).To(Equal(planner.FinalSnapshotName(p.name, v.name, rec.Revision)))
		s := &longhorn.Snapshot{}
		g.Expect(east.Client.Get(t.Context(), key(b.Spec.SnapshotName), s)).To(Succeed())
		g.Expect(s.Spec.Volume).To(Equal(v.name))
		g.Expect(s.Status.ReadyToUse).To(BeTrue())
		g.Expect(b.Status.SnapshotCreatedAt.Time.Format(time.RFC3339)).To(Equal(s.Status.CreationTime), "the backup holds the snapshot's point in time")
	}
}

// checkClaims checks the PersistentVolumes and claims in west, shaped like Longhorn's, and the
// workloads scaled.
func checkClaims(t *testing.T, west *drlab.Cluster, p foPlan) {
	t.Helper()
	g := NewWithT(t)
	for _, v := range p.volumes {
		if v.pvcName == "" {
			continue
		}
		pv := &corev1.PersistentVolume{}
		g.Expect(west.Client.Get(t.Context(), client.ObjectKey{Name: v.name}, pv)).To(Succeed())
		g.Expect(pv.Spec.CSI.Driver).To(Equal("driver.longhorn.io"))
		g.Expect(pv.Spec.CSI.VolumeHandle).To(Equal(v.name))
		g.Expect(pv.Spec.PersistentVolumeReclaimPolicy).To(Equal(corev1.PersistentVolumeReclaimRetain))
		pvc := &corev1.PersistentVolumeClaim{}
		g.Expect(west.Client.Get(t.Context(), client.ObjectKey{Namespace: v.pvcNamespace, Name: v.pvcName}, pvc)).To(Succeed())
		g.Expect(pvc.Spec.VolumeName).To(Equal(v.name))
	}
	for _, w := range p.waves {
		if w.workload.kind == "" {
			continue
		}
		obj := workload(p.name, w.workload, 0)
		g.Expect(west.Client.Get(t.Context(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		g.Expect(specReplicas(obj)).To(Equal(w.workload.replicas))
	}
}

// checkFenced checks the old primary: the plan's job deleted, its label off the source volumes,
// the record's copy there, and its workloads at zero.
func checkFenced(t *testing.T, east *drlab.Cluster, p foPlan) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		err := east.Client.Get(t.Context(), key("drplan-"+p.name), &longhorn.RecurringJob{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "recurring job deleted: %v", err)
		for _, v := range p.volumes {
			src := &longhorn.Volume{}
			g.Expect(east.Client.Get(t.Context(), key(v.name), src)).To(Succeed())
			g.Expect(src.Labels).NotTo(HaveKey("recurring-job.longhorn.io/drplan-" + p.name))
		}
		g.Expect(east.Client.Get(t.Context(), key(planner.RecordName(p.name)), &corev1.ConfigMap{})).To(Succeed())
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
}
