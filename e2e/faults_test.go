package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
)

// East stops answering: west keeps being reconciled and status says since when east is down.
// Then Gitea stops: the last good revision stays in force, nothing is taken as removed. The
// scenario breaks components, so it has a lab of its own.
func TestClusterAndForgeDown(t *testing.T) {
	requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	dir, err := os.MkdirTemp("", "drplan-e2e-faults-")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	lab, err := drlab.Start(ctx, drlab.Options{Dir: filepath.Join(dir, "lab"), PollInterval: sharedPoll, Gitea: true, Logger: labLogger(dir)})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = lab.Stop() })
	east, west := lab.Clusters["east"], lab.Clusters["west"]

	dataA, dataB := randomBytes(t, 64<<10), randomBytes(t, 64<<10)
	sourceVolume(t, east, "fault-a", dataA)
	sourceVolume(t, east, "fault-b", dataB)
	// fault-b is already backed up by a team's own job before it joins the plan.
	team := &longhorn.RecurringJob{ObjectMeta: metav1.ObjectMeta{Name: "team-b", Namespace: ns},
		Spec: longhorn.RecurringJobSpec{Name: "team-b", Task: longhorn.RecurringJobTaskBackup, Cron: "@every 1h", Retain: 3, Concurrency: 1}}
	g.Expect(east.Client.Create(ctx, team)).To(Succeed())
	g.Expect(east.Client.Patch(ctx, &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "fault-b", Namespace: ns}},
		client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"recurring-job.longhorn.io/team-b":"enabled"}}}`)))).To(Succeed())
	_, err = east.Sim.RunRecurringJob(ctx, "team-b")
	g.Expect(err).NotTo(HaveOccurred())

	repo := newPlanRepo(t, lab, "faults")
	repo.commit(t, "protect fault-a", map[string]string{"plan.yaml": planYAML("fault", "@every 1h", "90m", "fault-a")})
	a := startAgent(t, lab, repo, agentOpts{interval: "1s"})
	// The job runs once fault-a is bound to it: the agent creates the job and labels the volume
	// in the same pass, in either order, and a run in between would back up nothing.
	g.Eventually(func(g Gomega) {
		src := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("fault-a"), src)).To(Succeed())
		g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-fault", "enabled"))
		_, err := east.Sim.RunRecurringJob(ctx, "drplan-fault")
		g.Expect(err).NotTo(HaveOccurred())
	}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	waitStandbyRestored(t, west, "fault-a", dataA, 60*time.Second)
	// West's own poll would bring fault-b's backup in; request it as the poll would.
	now := metav1.Now()
	g.Expect(west.Client.Patch(ctx, &longhorn.BackupTarget{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}},
		client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"syncRequestedAt":"`+now.UTC().Format(time.RFC3339)+`"}}`)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		var list longhorn.BackupList
		g.Expect(west.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		g.Expect(longhorn.NewestCompletedBackup(list.Items, "fault-b")).NotTo(BeNil())
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())

	t.Log("east stops answering")
	g.Expect(lab.StopCluster("east")).To(Succeed())
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Clusters["east"].Reachable).To(BeFalse())
		g.Expect(st.Clusters["east"].DownSince.IsZero()).To(BeFalse())
		g.Expect(st.Clusters["west"].Reachable).To(BeTrue())
		g.Expect(st.Plans[0].Waiting).To(ContainElement(HavePrefix("cluster east unreachable since ")))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	out, code := runCLI(t, "status", "--config", a.config)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("Cluster east: UNREACHABLE since"))

	t.Log("a new revision adds fault-b: west is reconciled without east")
	sha := repo.commit(t, "protect fault-b too", map[string]string{"plan.yaml": planYAML("fault", "@every 1h", "90m", "fault-a", "fault-b")})
	waitStandbyRestored(t, west, "fault-b", dataB, 60*time.Second)
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Source.Revision).To(Equal(sha))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())

	t.Log("Gitea stops: the last good revision stays in force")
	g.Expect(lab.Gitea.Stop()).To(Succeed())
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Source.FailingSince.IsZero()).To(BeFalse())
		g.Expect(st.Source.Error).NotTo(BeEmpty())
		g.Expect(st.Source.Error).NotTo(ContainSubstring(lab.Gitea.Token))
		g.Expect(st.Source.Revision).To(Equal(sha))
		g.Expect(st.Plans).To(HaveLen(1))
		g.Expect(st.Plans[0].Invalid).To(BeFalse())
		g.Expect(st.Plans[0].Volumes).To(HaveLen(2))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	failing, err := a.metricValue("drplan_source_failing")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(failing).To(Equal(1.0))
	// Still in force: the standby volumes are the plan's, none is taken as orphaned.
	g.Consistently(func(g Gomega) {
		for _, name := range []string{"fault-a", "fault-b"} {
			v := &longhorn.Volume{}
			g.Expect(west.Client.Get(ctx, key(name), v)).To(Succeed())
			g.Expect(v.Labels).NotTo(HaveKey("drplan.io/orphaned"))
		}
	}).WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	out, code = runCLI(t, "status", "--config", a.config)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("fetch failing since"))
	t.Logf("drplan status with east and Gitea down:\n%s", out)
}
