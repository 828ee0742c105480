package planner

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/plans"
)

// reversedPlan is failoverPlan's "payments" protecting again after its failover: west is the
// primary (its activated volumes are the sources), east the secondary, with standby volumes
// under new names.
func reversedPlan(mutate ...func(*plans.DRPlan)) *plans.Plan {
	return failoverPlan(append([]func(*plans.DRPlan){func(d *plans.DRPlan) {
		d.Spec.Failover = false
		d.Spec.Primary, d.Spec.Secondary = "west", "east"
		d.Spec.Volumes[0].StandbyName, d.Spec.Volumes[1].StandbyName = "pg-data-b", "pg-wal-b"
	}}, mutate...)...)
}

func TestProtectAgainAfterFailover(t *testing.T) {
	f := newFailoverWorld()
	done := f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbDone, step(WaveStep("apps"), 20*time.Second, 10*time.Second)))
	done.FinishedAt = now.Add(-10 * time.Second)
	staleLabelled := func(v longhorn.Volume) longhorn.Volume {
		v.Labels = map[string]string{LabelStale: "true"}
		return v
	}
	// west after the failover: the activated volumes, now the sources, and the record.
	west := func(extra ...any) []any {
		return append([]any{f.tgt, recordCM(done), f.dbActive, f.walActive, backup("backup-n1", "pg-data", time.Second), backup("backup-n2", "pg-wal", time.Hour)}, extra...)
	}
	// east: the old primary, fenced, with its stale volumes and the record's copy.
	east := func(extra ...any) []any {
		return append([]any{f.tgt, recordCM(done), detached(sourceVolume("pg-data", f.fenced)), detached(sourceVolume("pg-wal", f.fenced)),
			backup("backup-n1", "pg-data", time.Second), backup("backup-n2", "pg-wal", time.Hour)}, extra...)
	}
	pgDataB, pgDataBEngine := standby("pg-data-b", "pg-data", "backup-n1", "backup-n1")
	pgWalB, pgWalBEngine := standby("pg-wal-b", "pg-wal", "backup-n2", "backup-n2") // restored a backup from before the failover ended

	runFailoverCases(t, []failoverCase{
		{
			name: "reversed-plan-protects-the-new-primary",
			plan: reversedPlan(),
			west: fstate("west", west()...),
			east: fstate("east", east()...),
			expect: func(g Gomega, res Result) {
				r := res.Report.Plans[0]
				g.Expect(r.FailoverStatus).To(BeNil(), "the previous cycle's failover is not this plan's")
				g.Expect(r.Lifecycle).To(Equal(LifecycleProtectingReversed))
				g.Expect(r.Reprotected).To(BeTrue())
				g.Expect(res.Reversals).To(BeEmpty())
				g.Expect(r.Stale).To(Equal([]string{"pg-data", "pg-wal"}))
				var job, labelled, stale []string
				for _, a := range res.Actions {
					switch a := a.(type) {
					case *ApplyRecurringJob:
						job = append(job, a.Cluster())
					case *PatchVolumeLabels:
						if _, ok := a.Set[LabelStale]; ok {
							stale = append(stale, a.Cluster()+"/"+a.Volume)
						} else {
							labelled = append(labelled, a.Cluster()+"/"+a.Volume)
						}
					case *DeleteObject:
						g.Expect(a).To(BeNil(), "nothing is deleted without staleVolumes: Delete")
					}
				}
				g.Expect(job).To(Equal([]string{"west"}))
				g.Expect(labelled).To(ConsistOf("west/pg-data", "west/pg-wal"))
				g.Expect(stale).To(ConsistOf("east/pg-data", "east/pg-wal"))
			},
		},
		{
			name: "failed-over-plan-has-its-reversal",
			plan: failoverPlan(),
			east: fstate("east", east()...),
			west: fstate("west", west()...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Report.Plans[0].Lifecycle).To(Equal(LifecycleFailedOver))
				g.Expect(res.Reversals).To(HaveLen(1))
				r := res.Reversals[0]
				g.Expect(r.FailoverStartedAt).To(Equal(done.StartedAt.UTC().Format("2006-01-02T15:04:05Z")))
				g.Expect(r.Reversed.Spec.Primary).To(Equal("west"))
				g.Expect(r.Reversed.Spec.Volumes[0].StandbyName).To(Equal("pg-data-b"))
			},
		},
		{
			name: "failed-over-plan-with-every-standby-name-taken-says-so",
			plan: failoverPlan(),
			east: fstate("east", east(detached(sourceVolume("pg-data-b", nil)), detached(sourceVolume("pg-data-c", nil)))...),
			west: fstate("west", west()...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Report.Plans[0].Lifecycle).To(Equal(LifecycleFailedOver))
				g.Expect(res.Reversals).To(BeEmpty(), "nothing for the agent to propose")
				g.Expect(res.Report.Plans[0].FailoverStatus.Notes).To(ContainElement(And(
					ContainSubstring("no plan that protects the activated volumes again can be proposed: volume pg-data"),
					ContainSubstring("delete stale volumes in cluster east"))))
			},
		},
		{
			name: "stale-volumes-kept-by-default",
			plan: reversedPlan(),
			west: fstate("west", west()...),
			east: fstate("east", east(staleLabelled(detached(sourceVolume("pg-data", nil))), pgDataB, pgDataBEngine)...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).NotTo(ContainElement("*planner.DeleteObject"))
			},
		},
		{
			name: "stale-volume-deleted-once-its-replacement-is-newer",
			plan: reversedPlan(func(d *plans.DRPlan) { d.Spec.StaleVolumes = plans.StaleDelete }),
			west: fstate("west", west()...),
			east: fstate("east", east(staleLabelled(detached(sourceVolume("pg-data", nil))), staleLabelled(detached(sourceVolume("pg-wal", nil))),
				pgDataB, pgDataBEngine, pgWalB, pgWalBEngine)...),
			expect: func(g Gomega, res Result) {
				var deleted []string
				for _, a := range res.Actions {
					if del, ok := a.(*DeleteObject); ok {
						deleted = append(deleted, del.Cluster()+"/"+del.Ref.Name)
						g.Expect(del.Labels).To(HaveKeyWithValue(LabelStale, "true"))
					}
				}
				g.Expect(deleted).To(Equal([]string{"east/pg-data"}), "pg-wal's replacement restored nothing newer than the failover")
			},
		},
		{
			name: "failback-replaces-the-previous-record",
			plan: reversedPlan(func(d *plans.DRPlan) { d.Spec.Failover = true }),
			west: fstate("west", west()...),
			east: fstate("east", east(pgDataB, pgDataBEngine, pgWalB, pgWalBEngine)...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.Cluster()).To(Equal("east"))
				g.Expect(w.ResourceVersion).To(Equal("42"), "the previous cycle's record is replaced")
				g.Expect(w.Record.Primary).To(Equal("west"))
				g.Expect(w.Record.Planned).To(BeTrue())
				g.Expect(res.Report.Plans[0].Lifecycle).To(Equal(LifecycleFailingOver))
			},
		},
	})
}
