package planner

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// TestFailoverWavesGolden covers the waves: activating their volumes, creating the claims,
// scaling up, and waiting for their gates.
func TestFailoverWavesGolden(t *testing.T) {
	f := newFailoverWorld()
	runFailoverCases(t, []failoverCase{
		{
			name: "failover-wave-activation-waits-for-next-second",
			now:  now.Add(400 * time.Millisecond),
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), f.fData, f.fWal,
				syncedAt(backupVolume("pg-data", f.finalData.Name, nil), now)),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "activation without the sync Longhorn would honour is not done")
				g.Expect(res.RequeueAfter).To(Equal(600 * time.Millisecond))
			},
		},
		{
			name: "failover-wave-activates",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), f.fData, f.fWal),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1), "only the db wave's volume")
				a := res.Actions[0].(*ActivateVolume)
				g.Expect(a.Volume).To(Equal("pg-data"))
				g.Expect(a.Frontend).To(Equal(longhorn.VolumeFrontendBlockDev))
				g.Expect(a.SyncAt.After(now.Add(-55 * time.Second))).To(BeTrue())
			},
		},
		{
			name: "failover-wave-degraded-held-by-plan",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))),
				withRobustness(f.fData, longhorn.VolumeRobustnessDegraded), f.fWal),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-wave-degraded-held-by-setting",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Activation.AllowDegraded = true }),
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: func() *observed.State {
				s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))),
					withRobustness(f.fData, longhorn.VolumeRobustnessDegraded), f.fWal)
				s.Settings[0].Value = "false"
				return s
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("allow-volume-creation-with-degraded-availability is false"))
			},
		},
		{
			name: "failover-wave-degraded-allowed",
			plan: failoverPlan(func(d *plans.DRPlan) { d.Spec.Activation.AllowDegraded = true }),
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))),
				withRobustness(f.fData, longhorn.VolumeRobustnessDegraded), f.fWal),
			expect: func(g Gomega, res Result) { g.Expect(kinds(res)).To(ConsistOf("*planner.ActivateVolume")) },
		},
		{
			name: "failover-wave-activation-settling",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), activated(f.fData, false), f.fWal,
				func() longhorn.BackupVolume {
					bv := syncedAt(backupVolume("pg-data", f.finalData.Name, ptr.To(now.Add(5*time.Second))), now.Add(-55*time.Second))
					return bv
				}()),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-wave-creates-claims",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), f.dbActive, f.fWal),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ConsistOf("*planner.CreatePersistentVolume", "*planner.CreatePersistentVolumeClaim"))
				pv := res.Actions[0].(*CreatePersistentVolume).PV
				g.Expect(pv.Spec.CSI.Driver).To(Equal("driver.longhorn.io"))
				g.Expect(pv.Spec.CSI.VolumeHandle).To(Equal("pg-data"))
				g.Expect(pv.Spec.PersistentVolumeReclaimPolicy).To(Equal(corev1.PersistentVolumeReclaimRetain))
				g.Expect(res.Actions[1].(*CreatePersistentVolumeClaim).PVC.Spec.VolumeName).To(Equal("pg-data"))
			},
		},
		{
			name: "failover-wave-leaves-a-claim-drplan-did-not-create",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: func() *observed.State {
				s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), f.dbActive, f.fWal, ourPV("pg-data"))
				// The team's own claim of that name, bound to the volume of an earlier cycle: a
				// workload started on it would run on stale data.
				theirs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
					"metadata": map[string]any{"namespace": "prod", "name": "data-postgres-0", "labels": map[string]any{"app": "postgres"}},
					"spec":     map[string]any{"volumeName": "pvc-0b7d"}}}
				s.Objects = map[observed.ObjectRef]*unstructured.Unstructured{
					{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: "prod", Name: "data-postgres-0"}: theirs}
				return s
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "the team's claim is not replaced, and no workload is scaled up on it")
				g.Expect(res.Report.Plans[0].FailoverStatus.Phase).To(Equal(FailoverStalled), "a person must act")
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring(
					`PersistentVolumeClaim prod/data-postgres-0 exists in cluster west and drplan did not create it (bound to "pvc-0b7d")`))
			},
		},
		{
			name: "failover-wave-scales",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), f.dbActive, f.fWal,
				ourPV("pg-data"), ourPVC("prod", "data-postgres-0")),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				g.Expect(res.Actions[0].(*ScaleWorkload).Replicas).To(Equal(int32(3)))
			},
		},
		{
			name: "failover-wave-waits-for-gates",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: func() *observed.State {
				s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), f.dbActive, f.fWal,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, false)
				return s
			}(),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
		{
			name: "failover-wave-volume-attached-by-its-workload",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: func() *observed.State {
				inUse := f.dbActive
				inUse.Status.State = longhorn.VolumeStateAttached // the scaled-up workload's pod mounts it
				s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), inUse, f.fWal,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, false)
				return s
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("StatefulSet prod/postgres"),
					"the wave waits for its gate, not for its volume to detach again")
			},
		},
		{
			name: "failover-wave-gate-timeout-stalls",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, step(WaveStep("db"), 11*time.Minute, -1))), f.finalData, f.finalWal),
			west: func() *observed.State {
				s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, step(WaveStep("db"), 11*time.Minute, -1)))), f.dbActive, f.fWal,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, false)
				return s
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(res.Report.Plans[0].FailoverStatus.Phase).To(Equal(FailoverStalled))
			},
		},
		{
			name: "failover-wave-done-next-starts",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal),
			west: func() *observed.State {
				s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave))), f.dbActive, f.fWal,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, true)
				return s
			}(),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.Record.Steps).To(HaveLen(4))
				g.Expect(w.Record.Steps[3].Name).To(Equal("wave/apps"))
			},
		},
		{
			name: "failover-last-wave-completes",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbDone, f.appsWave)), f.finalData, f.finalWal),
			west: func() *observed.State {
				s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbDone, f.appsWave))), f.dbActive, f.walActive,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, true)
				s.Deployments[0] = deployment("web", 2, true)
				return s
			}(),
			objects: map[observed.ObjectRef]*unstructured.Unstructured{jobRef: completedJob()},
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(HaveLen(1))
				g.Expect(res.Actions[0].(*WriteFailoverRecord).Record.FinishedAt).To(Equal(now))
			},
		},
		{
			name: "failover-last-wave-gate-not-read",
			east: f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbDone, f.appsWave)), f.finalData, f.finalWal),
			west: func() *observed.State {
				s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbDone, f.appsWave))), f.dbActive, f.walActive,
					ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
				s.StatefulSets[0] = statefulSet("postgres", 3, true)
				s.Deployments[0] = deployment("web", 2, true)
				return s
			}(),
			expect: func(g Gomega, res Result) { g.Expect(res.Actions).To(BeEmpty()) },
		},
	})
}

func withRobustness(v longhorn.Volume, r longhorn.VolumeRobustness) longhorn.Volume {
	v.Status.Robustness = r
	return v
}

func completedJob() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "migrate", "namespace": "prod"},
		"status":   map[string]any{"succeeded": int64(1), "conditions": []any{map[string]any{"type": "Complete", "status": "True"}}},
	}}
	return u
}

var jobRef = observed.ObjectRef{APIVersion: "batch/v1", Kind: "Job", Namespace: "prod", Name: "migrate"}

func TestFailoverReads(t *testing.T) {
	tgt := target("s3://backups@us-east-1/")
	running := rec(true, 3*time.Minute, step(StepFinalBackup, 3*time.Minute, time.Minute), step(StepCatchUp, time.Minute, time.Minute),
		step(WaveStep("db"), time.Minute, 30*time.Second), step(WaveStep("apps"), 30*time.Second, -1))
	finished := rec(true, 3*time.Minute, running.Steps...)
	finished.FinishedAt = now
	cases := []struct {
		name string
		plan *plans.Plan
		west *observed.State
		want map[string][]observed.ObjectRef
	}{
		{"steady state reads nothing", failoverPlan(func(d *plans.DRPlan) { d.Spec.Failover = false }), fstate("west", tgt, recordCM(running)), map[string][]observed.ObjectRef{}},
		{"no record yet", failoverPlan(), fstate("west", tgt), map[string][]observed.ObjectRef{}},
		{"db wave under way: its gate is cached, its claim is not drplan's yet", failoverPlan(), fstate("west", tgt, recordCM(rec(true, time.Minute, step(WaveStep("db"), time.Minute, -1)))),
			map[string][]observed.ObjectRef{"west": {{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: "prod", Name: "data-postgres-0"}}}},
		{"db wave under way: its gate and drplan's claim are cached", failoverPlan(), fstate("west", tgt, recordCM(rec(true, time.Minute, step(WaveStep("db"), time.Minute, -1))), ourPVC("prod", "data-postgres-0")),
			map[string][]observed.ObjectRef{}},
		{"apps wave under way: the Job gate", failoverPlan(), fstate("west", tgt, recordCM(running)), map[string][]observed.ObjectRef{"west": {jobRef}}},
		{"finished", failoverPlan(), fstate("west", tgt, recordCM(finished)), map[string][]observed.ObjectRef{}},
		{"secondary down", failoverPlan(), unreachable("west"), map[string][]observed.ObjectRef{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := FailoverReads(Input{Plans: &plans.Set{Plans: []*plans.Plan{tc.plan}}, Clusters: map[string]*observed.State{"west": tc.west}, Owner: owner, Now: now})
			NewWithT(t).Expect(got).To(Equal(tc.want))
		})
	}
}
