package planner

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// TestFailoverFenceGolden covers fencing the primary, a complete failover and a primary coming
// back, a reverted failover, and protection waiting for the secondary to be known.
func TestFailoverFenceGolden(t *testing.T) {
	f := newFailoverWorld()
	runFailoverCases(t, []failoverCase{
		{
			// Fencing keeps the source volumes out of every backup job: Longhorn would bind the
			// default group to a volume left with no job label, and a user's backup job would
			// upload stale data into the backup volumes west now writes to.
			name: "failover-fence-disables-other-backup-jobs",
			east: f.east(sourceVolume("pg-data", map[string]string{
				longhorn.RecurringJobLabel(JobName("payments")):                    longhorn.LabelValueEnabled,
				longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup): longhorn.LabelValueEnabled,
				longhorn.RecurringJobLabel("nightly"):                              longhorn.LabelValueEnabled,
				longhorn.RecurringJobGroupLabel("snaps"):                           longhorn.LabelValueDisabled,
				"team":                                                             "db",
			}), sourceVolume("pg-wal", f.fenced)),
			west: f.west(f.withStandbys(recordCM(f.planned(step(StepFinalBackup, 3*time.Minute, -1))))...),
			expect: func(g Gomega, res Result) {
				patches := map[string]*PatchVolumeLabels{}
				for _, a := range res.Actions {
					if p, ok := a.(*PatchVolumeLabels); ok {
						patches[p.Volume] = p
					}
				}
				g.Expect(patches).To(HaveKey("pg-data"))
				g.Expect(patches).NotTo(HaveKey("pg-wal"), "already fenced")
				p := patches["pg-data"]
				g.Expect(p.Remove).To(ConsistOf(longhorn.RecurringJobLabel(JobName("payments"))))
				g.Expect(p.Set).To(Equal(map[string]string{
					longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup): longhorn.LabelValueDisabled,
					longhorn.RecurringJobLabel("nightly"):                              longhorn.LabelValueDisabled,
				}))
			},
		},
		{
			name: "failover-complete",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbDone, step(WaveStep("apps"), 20*time.Second, 5*time.Second))), f.finalData, f.finalWal),
			west: func() *observed.State {
				r := f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbDone, step(WaveStep("apps"), 20*time.Second, 5*time.Second)))
				r.FinishedAt = now.Add(-5 * time.Second)
				return f.caughtUpWest(recordCM(r), f.dbActive, f.walActive, ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				fs := res.Report.Plans[0].FailoverStatus
				g.Expect(fs.Phase).To(Equal(FailoverComplete))
				g.Expect(fs.RTO.Duration).To(Equal(3*time.Minute - 5*time.Second))
				g.Expect(fs.DataLossKnown).To(BeTrue())
			},
		},
		{
			name: "failover-complete-primary-back-is-fenced",
			east: f.east(f.finalData, f.finalWal),
			west: func() *observed.State {
				r := f.withVolumes(rec(false, 3*time.Minute, step(StepFinalBackup, 3*time.Minute, 3*time.Minute), f.catchUpDone, f.dbDone,
					step(WaveStep("apps"), 20*time.Second, 5*time.Second)))
				r.FinishedAt = now.Add(-5 * time.Second)
				return f.caughtUpWest(recordCM(r), f.dbActive, f.walActive, ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.DeleteRecurringJob", "*planner.PatchVolumeLabels", "*planner.PatchVolumeLabels", "*planner.WriteFailoverRecord"))
				for _, a := range res.Actions {
					g.Expect(a.Cluster()).To(Equal("east"), "nothing changes in west once complete")
				}
			},
		},
		{
			name: "failover-reverted-after-activation",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }),
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), f.dbActive, f.fWal),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "no protection, no activation, nothing undone")
				g.Expect(res.Report.Plans[0].FailoverStatus.Phase).To(Equal(FailoverReverted))
				g.Expect(res.Report.Plans[0].Problems).To(ContainElement(ContainSubstring("failback is a new plan with the roles swapped (primary west, secondary east)")))
			},
		},
		{
			name: "failover-activated-outside-drplan",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }),
			east: f.east(),
			west: f.west(activated(f.pgData, true), f.pgDataEngine, f.pgWal, f.pgWalEngine),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "nothing is undone, and protection stays off")
				p := res.Report.Plans[0]
				g.Expect(p.FailoverStatus.Phase).To(Equal(FailoverActivatedOutside))
				g.Expect(p.Problems).To(ConsistOf(And(ContainSubstring("standby volume pg-data in cluster west activated outside drplan"),
					ContainSubstring("commit failover: true"), Not(ContainSubstring("set back to false")))))
			},
		},
		{
			name: "failover-reverted-secondary-down-primary-copy",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }),
			east: f.east(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)))),
			west: unreachable("west"),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.DeleteRecurringJob", "*planner.PatchVolumeLabels", "*planner.PatchVolumeLabels"),
					"the job is not re-applied: the primary's copy of the record says it was failed over from")
			},
		},
		{
			name: "failover-protection-waits-for-secondary-cache",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }),
			east: f.east(),
			west: &observed.State{Name: "west", Health: observed.Health{Reachable: true}},
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "until west is known, east is not protected again by mistake")
			},
		},
	})
}
