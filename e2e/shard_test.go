package e2e

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/status"
)

// Two agents sharded by plan, on the same clusters and repo, each with its own lease: each
// drives the plans its selector picks and no other; a plan both select is driven by the
// first to claim it and refused by the second with a message saying why; moved out of the
// first shard by a commit, it is released and taken over by the second.
func TestShards(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east := lab.Clusters["east"]
	for _, v := range []string{"shard-a-vol", "shard-b-vol", "shard-ab-vol"} {
		sourceVolume(t, east, v, randomBytes(t, 64<<10))
	}
	labelled := func(name, labels, volume string) string {
		return strings.Replace(planYAML(name, "@every 1h", "2h", volume), "  name: "+name+"\n", "  name: "+name+"\n  labels: {"+labels+"}\n", 1)
	}
	repo := newPlanRepo(t, lab, "shards")
	repo.commit(t, "three plans, one selected by both shards", map[string]string{
		"a.yaml":  labelled("shard-a", "team: a", "shard-a-vol"),
		"b.yaml":  labelled("shard-b", "region: eu", "shard-b-vol"),
		"ab.yaml": labelled("shard-ab", "team: a, region: eu", "shard-ab-vol"),
	})
	a := startAgent(t, lab, repo, agentOpts{shard: `{name: a, selector: "team=a"}`})
	planOf := func(st status.Status, name string) *planner.PlanReport {
		for i := range st.Plans {
			if st.Plans[i].Name == name {
				return &st.Plans[i]
			}
		}
		return nil
	}
	// Shard a claims and drives its two plans before shard b starts.
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Leading).To(BeTrue())
		g.Expect(planOf(st, "shard-b")).To(BeNil(), "shard a does not report shard b's plan")
		for _, p := range []string{"shard-a", "shard-ab"} {
			g.Expect(planOf(st, p)).NotTo(BeNil())
			g.Expect(planOf(st, p).Problems).To(BeEmpty())
			job := &longhorn.RecurringJob{}
			g.Expect(east.Client.Get(ctx, key(planner.JobName(p)), job)).To(Succeed(), "shard a drives %s", p)
		}
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())

	b := startAgent(t, lab, repo, agentOpts{shard: `{name: b, selector: "region=eu"}`})
	g.Eventually(func(g Gomega) {
		st, err := b.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Leading).To(BeTrue(), "each shard elects its own leader")
		g.Expect(planOf(st, "shard-a")).To(BeNil())
		g.Expect(planOf(st, "shard-b")).NotTo(BeNil())
		g.Expect(planOf(st, "shard-b").Problems).To(BeEmpty())
		job := &longhorn.RecurringJob{}
		g.Expect(east.Client.Get(ctx, key(planner.JobName("shard-b")), job)).To(Succeed(), "shard b drives its plan")
		ab := planOf(st, "shard-ab")
		g.Expect(ab).NotTo(BeNil())
		g.Expect(ab.Problems).To(ContainElement(ContainSubstring("plan shard-ab is driven by shard a; shard b selects it too and leaves it alone")))
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	// Shard a still drives it, untroubled.
	st, err := a.getStatus()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(planOf(st, "shard-ab").Problems).To(BeEmpty())

	// Moved to shard b alone: a releases its claim, b claims and drives it.
	repo.commit(t, "shard-ab to shard b", map[string]string{"ab.yaml": labelled("shard-ab", "region: eu", "shard-ab-vol")})
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(planOf(st, "shard-ab")).To(BeNil())
		st, err = b.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		ab := planOf(st, "shard-ab")
		g.Expect(ab).NotTo(BeNil())
		g.Expect(ab.Problems).To(BeEmpty())
		g.Expect(ab.Waiting).NotTo(ContainElement(ContainSubstring("claims the plan")))
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	// Neither shard took the other's plan for one removed from Git: nothing is orphaned.
	for _, ag := range []*agentProc{a, b} {
		st, err := ag.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		for _, p := range st.Plans {
			g.Expect(p.Orphans).To(BeEmpty(), "plan %s", p.Name)
		}
	}
}
