package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// The faults real Longhorn has and a forgiving simulator would hide (REFERENCE §10), end to end
// with the built binary: the agent ends in a clear, reported state and loses no data.

// TestFaultedStandbyReplaced: a restore error faults a standby (every replica failed; Longhorn
// never repairs a standby). Status says so at once, with what to do; a failover is refused
// before any write; a new standbyName replaces it (the faulted one is kept, and not touched once
// Longhorn refuses its updates); the failover then completes with the source's data.
func TestFaultedStandbyReplaced(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := foPlan{name: "fl", catchUp: "1m", waves: []foWave{{name: "db"}},
		volumes: []foVolume{{name: "fl-a", wave: "db"}, {name: "fl-b", wave: "db"}}}
	setup := protectForFailover(t, lab, east, west, p)
	repo, a := setup.repo, setup.agent

	t.Log("the next restore of fl-a fails: the standby faults")
	g.Expect(west.Sim.FailRestore(ctx, "fl-a", "")).To(Succeed())
	g.Expect(east.Sim.WriteVolume(ctx, "fl-a", 0, randomBytes(t, 64<<10))).To(Succeed())
	_, err := east.Sim.RunRecurringJob(ctx, "drplan-fl")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].Volumes[0].State).To(Equal(planner.StandbyFaulted))
		g.Expect(st.Plans[0].Problems).To(ContainElement(And(ContainSubstring("standby volume fl-a in cluster west is faulted"),
			ContainSubstring("set spec.volumes[0].standbyName to a new name"))))
		v, err := a.metricValue(`drplan_volume_standby_state{plan="fl",state="faulted",volume="fl-a"}`)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v).To(Equal(1.0))
	}).WithTimeout(90 * time.Second).WithPolling(poll).Should(Succeed())

	t.Log("a failover is refused before any write")
	p.failover = true
	repo.commit(t, "fail over fl", map[string]string{"fl.yaml": p.yaml()})
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		fs := st.Plans[0].FailoverStatus
		g.Expect(fs).NotTo(BeNil())
		g.Expect(fs.Phase).To(Equal(planner.FailoverBlocked))
		g.Expect(fs.Waiting).To(ContainSubstring("the standby volume fl-a of volume fl-a is faulted"))
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	g.Expect(apierrors.IsNotFound(west.Client.Get(ctx, key(planner.RecordName(p.name)), &corev1.ConfigMap{}))).To(BeTrue(), "no failover record")

	t.Log("the primary's retention prunes the backup the faulted standby was created from: Longhorn now refuses any update of it")
	faulted := &longhorn.Volume{}
	g.Expect(west.Client.Get(ctx, key("fl-a"), faulted)).To(Succeed())
	from, err := longhorn.ParseBackupURL(faulted.Spec.FromBackup)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(west.Sim.PruneBackup(ctx, from.VolumeName, from.BackupName)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(west.Client.Get(ctx, key(from.BackupName), &longhorn.Backup{}))
	}).WithTimeout(time.Minute).WithPolling(poll).Should(BeTrue())

	t.Log("replaced under a new name, protected again, then failed over")
	p.failover = false
	p.volumes[0].standby = "fl-a-2"
	repo.commit(t, "replace the faulted standby of fl-a", map[string]string{"fl.yaml": p.yaml()})
	_, err = east.Sim.RunRecurringJob(ctx, "drplan-fl")
	g.Expect(err).NotTo(HaveOccurred())
	want, err := east.Sim.ReadVolume(ctx, "fl-a")
	g.Expect(err).NotTo(HaveOccurred())
	waitStandbyRestored(t, west, "fl-a-2", want, 90*time.Second)
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].Orphans).To(ContainElement("fl-a"), "the faulted standby is kept")
		g.Expect(st.LastPass.Errors).To(BeEmpty(), "no update Longhorn refuses is tried, pass after pass")
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	old := &longhorn.Volume{}
	g.Expect(west.Client.Get(ctx, key("fl-a"), old)).To(Succeed(), "the faulted standby is never deleted")
	g.Consistently(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.LastPass.Errors).To(BeEmpty())
	}).WithTimeout(3 * time.Second).WithPolling(300 * time.Millisecond).Should(Succeed())

	for _, v := range p.volumes {
		g.Expect(east.Sim.Detach(ctx, v.name)).To(Succeed())
	}
	p.failover = true
	repo.commit(t, "fail over fl", map[string]string{"fl.yaml": p.yaml()})
	waitFailoverDone(t, west, p.name, 2*time.Minute)
	for _, v := range p.volumes {
		want, err := east.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		got, err := west.Sim.ReadVolume(ctx, v.standbyName())
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want), "volume %s", v.name)
	}
}

// TestUnreadableBackupNotUsed: while the store's backup configs cannot be read, the secondary
// lists new backups with block size -1, and Longhorn refuses a standby created from one. The
// agent never picks such a backup; once the configs read again, the next backup gives the
// standby, with the source's data.
func TestUnreadableBackupNotUsed(t *testing.T) {
	lab, view := ownLab(t, "blocksize")
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	data := randomBytes(t, 64<<10)
	sourceVolume(t, east, "bs-a", data)
	west.Sim.SetBackupConfigsReadable(false)
	repo := newPlanRepo(t, view, "bs")
	repo.commit(t, "protect bs", map[string]string{"bs.yaml": planYAML("bs", "@every 1h", "90m", "bs-a")})
	a := startAgent(t, view, repo, agentOpts{})
	// The job runs once the volume is bound to it: run earlier, it backs up nothing.
	g.Eventually(func(g Gomega) {
		src := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("bs-a"), src)).To(Succeed())
		g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-bs", "enabled"))
		_, err := east.Sim.RunRecurringJob(ctx, "drplan-bs")
		g.Expect(err).NotTo(HaveOccurred())
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		var list longhorn.BackupList
		g.Expect(west.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		g.Expect(list.Items).NotTo(BeEmpty())
		g.Expect(list.Items[0].Spec.BackupBlockSize).To(Equal(longhorn.BackupBlockSizeInvalid))
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(apierrors.IsNotFound(west.Client.Get(ctx, key("bs-a"), &longhorn.Volume{}))).To(BeTrue(), "no standby from an unreadable backup")
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.LastPass.Errors).To(BeEmpty(), "nothing refused: nothing tried")
	}).WithTimeout(5 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())

	west.Sim.SetBackupConfigsReadable(true)
	_, err := east.Sim.RunRecurringJob(ctx, "drplan-bs")
	g.Expect(err).NotTo(HaveOccurred())
	waitStandbyRestored(t, west, "bs-a", data, 90*time.Second)
}

// TestClaimOwnsJobLabels: the source volume's claim carries recurring-job.longhorn.io/source:
// enabled, so Longhorn copies the claim's job labels onto the volume. The agent labels the
// claim too: the volume stays bound to the plan's job (its backups are made), and after a
// failover the fencing holds (the default group does not come back).
func TestClaimOwnsJobLabels(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := foPlan{name: "fc", catchUp: "1m", waves: []foWave{{name: "db"}}, volumes: []foVolume{{name: "fc-a", wave: "db"}}}
	sourceVolume(t, east, "fc-a", randomBytes(t, 64<<10))
	g.Expect(client.IgnoreAlreadyExists(east.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fc"}}))).To(Succeed())
	_, err := east.Sim.CreatePV(ctx, "fc-a", "fc-a-pv", "ext4")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = east.Sim.CreatePVC(ctx, "fc-a", "fc-a-pv", "fc", "data")
	g.Expect(err).NotTo(HaveOccurred())
	pvc := &corev1.PersistentVolumeClaim{}
	g.Expect(east.Client.Get(ctx, client.ObjectKey{Namespace: "fc", Name: "data"}, pvc)).To(Succeed())
	patch := client.MergeFrom(pvc.DeepCopy())
	pvc.Labels = map[string]string{"recurring-job.longhorn.io/source": "enabled"}
	g.Expect(east.Client.Patch(ctx, pvc, patch)).To(Succeed())

	repo := newPlanRepo(t, lab, p.name)
	repo.commit(t, "protect fc", map[string]string{"fc.yaml": p.yaml()})
	a := startAgent(t, lab, repo, agentOpts{})
	g.Eventually(func(g Gomega) {
		v := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("fc-a"), v)).To(Succeed())
		g.Expect(v.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-fc", "enabled"))
		g.Expect(east.Client.Get(ctx, client.ObjectKey{Namespace: "fc", Name: "data"}, pvc)).To(Succeed())
		g.Expect(pvc.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-fc", "enabled"), "the claim owns the volume's job labels")
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	g.Consistently(func(g Gomega) {
		v := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("fc-a"), v)).To(Succeed())
		g.Expect(v.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-fc", "enabled"), "Longhorn's label sync keeps it")
	}).WithTimeout(3 * time.Second).WithPolling(300 * time.Millisecond).Should(Succeed())
	_, err = east.Sim.RunRecurringJob(ctx, "drplan-fc")
	g.Expect(err).NotTo(HaveOccurred(), "the plan's job backs the volume up")
	want, err := east.Sim.ReadVolume(ctx, "fc-a")
	g.Expect(err).NotTo(HaveOccurred())
	waitStandbyRestored(t, west, "fc-a", want, 90*time.Second)

	t.Log("failed over: fencing holds against the claim's labels")
	g.Expect(east.Sim.Detach(ctx, "fc-a")).To(Succeed())
	p.failover = true
	repo.commit(t, "fail over fc", map[string]string{"fc.yaml": p.yaml()})
	waitFailoverDone(t, west, p.name, 2*time.Minute)
	g.Eventually(func(g Gomega) {
		v := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("fc-a"), v)).To(Succeed())
		g.Expect(v.Labels).NotTo(HaveKey("recurring-job.longhorn.io/drplan-fc"))
		g.Expect(v.Labels).To(HaveKeyWithValue("recurring-job-group.longhorn.io/default", "disabled"))
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	g.Consistently(func(g Gomega) {
		v := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("fc-a"), v)).To(Succeed())
		g.Expect(v.Labels).To(HaveKeyWithValue("recurring-job-group.longhorn.io/default", "disabled"), "the default group does not come back")
		g.Expect(v.Labels).NotTo(HaveKey("recurring-job.longhorn.io/drplan-fc"))
	}).WithTimeout(3 * time.Second).WithPolling(300 * time.Millisecond).Should(Succeed())
	_ = a
}

// TestLonghornVolumeNames: names Longhorn would refuse or rewrite (over 40 characters, or with
// dots) are refused by drplan validate with file:line, before anything reaches a cluster.
func TestLonghornVolumeNames(t *testing.T) {
	requireLab(t) // the built binary comes with the lab; skipped under -short
	t.Parallel()
	g := NewWithT(t)
	dir := t.TempDir()
	long := strings.Repeat("v", 41)
	g.Expect(os.WriteFile(filepath.Join(dir, "names.yaml"), []byte(planYAML("names", "@every 1h", "90m", long, "pg.data")), 0o600)).To(Succeed())
	out, code := runCLI(t, "validate", dir)
	g.Expect(code).To(Equal(1), out)
	g.Expect(out).To(MatchRegexp(`names\.yaml:\d+:\d+: spec\.volumes\[0\]\.name: invalid name "` + long + `": must be no more than 40 characters`))
	g.Expect(out).To(MatchRegexp(`names\.yaml:\d+:\d+: spec\.volumes\[1\]\.name: invalid name "pg\.data": must not contain dots`))
}
