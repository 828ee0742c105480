package e2e

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// Pushing a plan protects its volumes: the recurring job and labels on east, then, once a
// backup exists, standby volumes on west that follow every new backup. West polls its backup
// target every 5 minutes; everything below happens in seconds because the agent asks for syncs.
func TestProtect(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	dataA, dataB := randomBytes(t, 3*64<<10), randomBytes(t, 2*64<<10)
	sourceVolume(t, east, "protect-a", dataA)
	sourceVolume(t, east, "protect-b", dataB)

	repo := newPlanRepo(t, lab, "protect")
	sha := repo.commit(t, "protect two volumes", map[string]string{
		"plans/protect.yaml": planYAML("protect", "@every 1h", "90m", "protect-a", "protect-b"),
	})
	a := startAgent(t, lab, repo, agentOpts{})

	t.Log("east: the plan's RecurringJob, and its label on both volumes")
	job := &longhorn.RecurringJob{}
	g.Eventually(func(g Gomega) {
		g.Expect(east.Client.Get(ctx, key("drplan-protect"), job)).To(Succeed())
		for _, name := range []string{"protect-a", "protect-b"} {
			v := &longhorn.Volume{}
			g.Expect(east.Client.Get(ctx, key(name), v)).To(Succeed())
			g.Expect(v.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-protect", "enabled"))
		}
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	g.Expect(job.Spec.Task).To(Equal(longhorn.RecurringJobTaskBackup))
	g.Expect(job.Spec.Cron).To(Equal("@every 1h"))
	g.Expect(job.Spec.Retain).To(Equal(5))
	g.Expect(job.Labels).To(HaveKeyWithValue(planner.LabelManagedBy, "drplan"))

	// The labels are in the API before the pass that wrote them published its status.
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Source.Revision).To(Equal(sha))
		g.Expect(st.Plans).To(HaveLen(1))
		g.Expect(st.Plans[0].Waiting).To(ContainElement("volume protect-a has no completed backup yet"))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())

	t.Log("a backup on east: standby volumes on west, restored from it")
	b1, err := east.Sim.RunRecurringJob(ctx, "drplan-protect")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(b1).To(HaveLen(2))
	start := time.Now()
	waitStandbyRestored(t, west, "protect-a", dataA, 60*time.Second)
	waitStandbyRestored(t, west, "protect-b", dataB, 60*time.Second)
	t.Logf("standby volumes restored the first backups %s after they completed on east (west polls every %s)", time.Since(start).Round(time.Millisecond), sharedPoll)
	v := &longhorn.Volume{}
	g.Expect(west.Client.Get(ctx, key("protect-a"), v)).To(Succeed())
	g.Expect(v.Spec.Standby).To(BeTrue())
	g.Expect(v.Spec.NumberOfReplicas).To(Equal(2))
	g.Expect(v.Labels).To(HaveKeyWithValue(planner.LabelPlan, "protect"))

	t.Log("a new backup on east reaches the standby volume on west")
	copy(dataA[64<<10:], randomBytes(t, 64<<10))
	g.Expect(east.Sim.WriteVolume(ctx, "protect-a", 64<<10, dataA[64<<10:2*64<<10])).To(Succeed())
	_, err = east.Sim.RunRecurringJob(ctx, "drplan-protect")
	g.Expect(err).NotTo(HaveOccurred())
	start = time.Now()
	waitStandbyRestored(t, west, "protect-a", dataA, 60*time.Second)
	t.Logf("standby volume restored the new backup %s after it completed on east", time.Since(start).Round(time.Millisecond))

	t.Log("status: both caught up, lag known, no breach; drplan status and diff agree")
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans).To(HaveLen(1))
		p := st.Plans[0]
		g.Expect(p.Volumes).To(HaveLen(2))
		for _, v := range p.Volumes {
			g.Expect(v.State).To(Equal(planner.StandbyCaughtUp), "volume %s: %s", v.Name, v.Reason)
			g.Expect(v.LagKnown).To(BeTrue())
			g.Expect(v.RPOBreach).To(BeFalse())
		}
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	out, code := runCLI(t, "status", "--config", a.config)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("Plan protect: east -> west  RPO 1h30m0s"))
	g.Expect(out).To(MatchRegexp(`protect-a\s+protect-a\s+caught-up`))
	t.Logf("drplan status:\n%s", out)
	out, code = runCLI(t, "diff", "--config", a.config)
	g.Expect(code).To(Equal(0), "diff after convergence: %s", out)
	g.Expect(out).To(ContainSubstring("cluster east: no changes"))
	g.Expect(out).To(ContainSubstring("cluster west: no changes"))
}

// A plan with a problem changes nothing in either cluster, its problem is in status with file
// and line, and the repo's valid plan next to it is applied all the same.
func TestInvalidPlanChangesNothing(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	sourceVolume(t, east, "invalid-a", nil)
	sourceVolume(t, east, "invalid-ok", nil)
	broken := strings.Replace(planYAML("invalid", "61 * * * *", "30m", "invalid-a"), "  rpo:", "  rpoo: 1h\n  rpo:", 1)
	repo := newPlanRepo(t, lab, "invalid")
	repo.commit(t, "one broken plan, one good", map[string]string{
		"broken.yaml": broken,
		"good.yaml":   planYAML("invalid-ok", "@every 1h", "90m", "invalid-ok"),
	})

	a := startAgent(t, lab, repo, agentOpts{})
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans).To(HaveLen(2))
		bad := st.Plans[0]
		g.Expect(bad.Name).To(Equal("invalid"))
		g.Expect(bad.Invalid).To(BeTrue())
		g.Expect(bad.Problems).To(ContainElement(HavePrefix("broken.yaml:")))
		g.Expect(strings.Join(bad.Problems, "\n")).To(ContainSubstring("spec.rpoo"))
		g.Expect(strings.Join(bad.Problems, "\n")).To(ContainSubstring("spec.schedule.cron"))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())

	// The good plan is applied...
	g.Eventually(func() error {
		return east.Client.Get(ctx, key("drplan-invalid-ok"), &longhorn.RecurringJob{})
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	// ...and the broken one never touches anything, in either cluster.
	g.Consistently(func(g Gomega) {
		g.Expect(east.Client.Get(ctx, key("drplan-invalid"), &longhorn.RecurringJob{})).NotTo(Succeed())
		v := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("invalid-a"), v)).To(Succeed())
		g.Expect(v.Labels).NotTo(HaveKey("recurring-job.longhorn.io/drplan-invalid"))
		g.Expect(west.Client.Get(ctx, key("invalid-a"), &longhorn.Volume{})).NotTo(Succeed())
	}).WithTimeout(5 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())

	out, code := runCLI(t, "status", "--config", a.config)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("Plan invalid: east -> west  INVALID (not applied)"))
	g.Expect(out).To(ContainSubstring("problem: broken.yaml:"))
}

// waitStandbyRestored waits until the standby volume name in c has restored the newest backup
// it knows of, and holds want.
func waitStandbyRestored(t *testing.T, c *drlab.Cluster, name string, want []byte, within time.Duration) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		v := &longhorn.Volume{}
		g.Expect(c.Client.Get(t.Context(), key(name), v)).To(Succeed())
		g.Expect(v.Spec.Standby).To(BeTrue())
		e := &longhorn.Engine{}
		g.Expect(c.Client.Get(t.Context(), key(longhorn.EngineName(name)), e)).To(Succeed())
		g.Expect(v.Status.LastBackup).NotTo(BeEmpty())
		g.Expect(e.Status.LastRestoredBackup).To(Equal(v.Status.LastBackup))
		got, err := c.Sim.ReadVolume(t.Context(), name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want))
	}).WithTimeout(within).WithPolling(200 * time.Millisecond).Should(Succeed())
}
