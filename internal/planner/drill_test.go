package planner

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// drill fixtures -----------------------------------------------------------------------------------

// drillingPlan is failoverPlan's "payments" protecting (failover false) with drill d1 in
// namespace drill, kept an hour.
func drillingPlan(mutate ...func(*plans.DRPlan)) *plans.Plan {
	return failoverPlan(append([]func(*plans.DRPlan){func(d *plans.DRPlan) {
		d.Spec.Failover = false
		d.Spec.Drill = &plans.Drill{ID: "d1", Namespace: "drill", KeepFor: plans.Duration{Duration: time.Hour}}
	}}, mutate...)...)
}

// drillRec is drill d1's record, started ago, with steps; its volumes restore the standbys'
// backups of newFailoverWorld.
func drillRec(ago time.Duration, steps ...StepRecord) *FailoverRecord {
	return &FailoverRecord{Plan: "payments", Primary: "east", Secondary: "west", Revision: rev, StartedAt: now.Add(-ago),
		Drill: "d1", Namespace: "drill", Steps: steps, Volumes: []VolumeRecord{
			{Name: "pg-data", Standby: "pg-data-drill", Restored: "backup-b2", SnapshotAt: now.Add(-ago - 5*time.Minute), DataLoss: metav1.Duration{Duration: 5 * time.Minute}, DataLossKnown: true},
			{Name: "pg-wal", Standby: "pg-wal-drill", Restored: "backup-w1", SnapshotAt: now.Add(-ago - 5*time.Minute), DataLoss: metav1.Duration{Duration: 5 * time.Minute}, DataLossKnown: true},
		}}
}

func drillCM(r *FailoverRecord) any {
	cm := recordCM(r)
	cm.Name = DrillRecordName(r.Plan)
	return cm
}

// drillLabels are the labels of an object drill d1 of payments created.
func drillLabels() map[string]string {
	return map[string]string{LabelManagedBy: ManagedByValue, LabelOwner: owner, LabelPlan: "payments", LabelDrill: "d1"}
}

// drillCopy is the drill copy of a standby volume, restored and detached when settled.
func drillCopy(standby string, settled bool) longhorn.Volume {
	v := longhorn.Volume{}
	v.Name, v.Namespace, v.Labels = DrillVolumeName(standby), ns, drillLabels()
	v.Spec.FromBackup, v.Spec.NumberOfReplicas, v.Spec.Size = "s3://x", 3, 1<<30
	v.Status.RestoreInitiated, v.Status.RestoreRequired = true, true
	v.Status.State, v.Status.Robustness = longhorn.VolumeStateAttached, longhorn.VolumeRobustnessHealthy
	if settled {
		v.Status.RestoreRequired, v.Status.State = false, longhorn.VolumeStateDetached
	}
	return v
}

// drillNamespace is the drill's namespace as read on demand (nil: not found).
func drillObjects(nsLabels map[string]string) map[observed.ObjectRef]*unstructured.Unstructured {
	ref := observed.ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: "drill"}
	jobRef := observed.ObjectRef{APIVersion: "batch/v1", Kind: "Job", Namespace: "drill", Name: "migrate"}
	out := map[observed.ObjectRef]*unstructured.Unstructured{ref: nil, jobRef: nil}
	if nsLabels != nil {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Namespace")
		u.SetName("drill")
		u.SetLabels(nsLabels)
		out[ref] = u
	}
	return out
}

// expectations -------------------------------------------------------------------------------------

// touchesNothingProtected checks that no action changes the primary or a standby volume.
func touchesNothingProtected(g Gomega, res Result) {
	for _, a := range res.Actions {
		g.Expect(a.Cluster()).To(Equal("west"), "a drill never writes to the primary: %s", a)
		switch a := a.(type) {
		case *ActivateVolume, *PatchVolumeLabels, *RequestSync:
			g.Expect(a).To(BeNil(), "a drill never changes a standby volume or its backups: %s", a)
		case *CreateStandbyVolume:
			g.Expect(a.Volume.Spec.Standby).To(BeFalse())
			g.Expect(a.Volume.Labels).To(HaveKeyWithValue(LabelDrill, "d1"))
		case *DeleteObject:
			g.Expect(a.Labels).To(HaveKeyWithValue(LabelDrill, "d1"), "teardown deletes only what carries the drill's label")
		case *ApplyObject:
			g.Expect(a.Object.GetLabels()).To(HaveKeyWithValue(LabelDrill, "d1"))
		}
	}
}

func drillReport(res Result) *DrillReport { return res.Report.Plans[0].Drill }

func TestDrill(t *testing.T) {
	f := newFailoverWorld()
	prepared := step(StepPrepare, 10*time.Minute, 8*time.Minute)
	dbDone := step(WaveStep("db"), 8*time.Minute, 7*time.Minute)
	appsDone := step(WaveStep("apps"), 7*time.Minute, 6*time.Minute)
	finished := func(ago time.Duration) *FailoverRecord {
		r := drillRec(ago+4*time.Minute, step(StepPrepare, ago+4*time.Minute, ago+2*time.Minute),
			step(WaveStep("db"), ago+2*time.Minute, ago+time.Minute), step(WaveStep("apps"), ago+time.Minute, ago))
		r.FinishedAt = now.Add(-ago)
		return r
	}
	copies := []any{detached(drillCopy("pg-data", true)), detached(drillCopy("pg-wal", true))}
	dbCopy := statefulSet("postgres", 0, true)
	dbCopy.Namespace, dbCopy.Labels = "drill", drillLabels()
	webCopy := deployment("web", 0, true)
	webCopy.Namespace, webCopy.Labels = "drill", drillLabels()
	dbUp := statefulSet("postgres", 3, true)
	dbUp.Namespace, dbUp.Labels = "drill", drillLabels()
	claim := ourPVC("drill", "data-postgres-0")
	claim.Labels = drillLabels()
	pv := ourPV("drill-pg-data")
	pv.Labels = drillLabels()
	theirs := statefulSet("other", 1, true) // a team's own workload in the drill namespace
	theirs.Namespace = "drill"

	runFailoverCases(t, []failoverCase{
		{
			name: "drill-waits-for-a-restored-backup",
			plan: drillingPlan(),
			east: f.east(),
			west: f.west(func() []any {
				v, e := standby("pg-data", "pg-data", "backup-b2", "")
				return []any{v, e, f.pgWal, f.pgWalEngine}
			}()...),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				g.Expect(kinds(res)).NotTo(ContainElement("*planner.WriteFailoverRecord"))
				g.Expect(drillReport(res).Phase).To(Equal(DrillStarting))
				g.Expect(drillReport(res).Waiting).To(ContainSubstring("the standby volume of pg-data has restored no backup yet"))
				g.Expect(res.Report.Plans[0].Lifecycle).To(Equal(LifecycleProtecting))
			},
		},
		{
			name: "drill-starts-with-the-backups-the-standbys-restored",
			plan: drillingPlan(),
			east: f.east(),
			west: f.west(f.withStandbys()...),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				var w *WriteFailoverRecord
				for _, a := range res.Actions {
					if r, ok := a.(*WriteFailoverRecord); ok {
						w = r
					}
				}
				g.Expect(w).NotTo(BeNil())
				g.Expect(w.Name).To(Equal(DrillRecordName("payments")))
				g.Expect(w.Record.Drill).To(Equal("d1"))
				g.Expect(w.Record.Volumes).To(HaveLen(2))
				g.Expect(w.Record.Volumes[0].Restored).To(Equal("backup-b2"))
				g.Expect(w.Record.Volumes[0].Standby).To(Equal("pg-data-drill"))
				g.Expect(w.Record.Volumes[0].DataLoss.Duration).To(Equal(5 * time.Minute))
			},
		},
		{
			name:    "drill-prepare-creates-its-namespace",
			plan:    drillingPlan(),
			east:    f.east(),
			west:    f.west(f.withStandbys(drillCM(drillRec(time.Second, step(StepPrepare, time.Second, -1))))...),
			objects: drillObjects(nil),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				g.Expect(kinds(res)).To(Equal([]string{"*planner.ApplyObject"}))
				g.Expect(res.Actions[0].(*ApplyObject).Object.GetKind()).To(Equal("Namespace"))
				g.Expect(res.Report.Plans[0].Lifecycle).To(Equal(LifecycleDrilling))
			},
		},
		{
			name:    "drill-prepare-creates-copies-and-workload-copies",
			plan:    drillingPlan(),
			east:    f.east(),
			west:    f.west(f.withStandbys(drillCM(drillRec(time.Second, step(StepPrepare, time.Second, -1))))...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				var vols, copied []string
				for _, a := range res.Actions {
					switch a := a.(type) {
					case *CreateStandbyVolume:
						vols = append(vols, a.Volume.Name+" "+a.Volume.Spec.FromBackup)
						g.Expect(a.Volume.Spec.Frontend).To(Equal(longhorn.VolumeFrontendBlockDev))
					case *ApplyObject:
						copied = append(copied, fmt.Sprintf("%s %s/%s", a.Object.GetKind(), a.Object.GetNamespace(), a.Object.GetName()))
						replicas, _, _ := unstructured.NestedInt64(a.Object.Object, "spec", "replicas")
						g.Expect(replicas).To(BeZero())
					}
				}
				g.Expect(vols).To(ConsistOf("pg-data-drill s3://backups@us-east-1/?backup=backup-b2&volume=pg-data",
					"pg-wal-drill s3://backups@us-east-1/?backup=backup-w1&volume=pg-wal"))
				g.Expect(copied).To(ConsistOf("StatefulSet drill/postgres", "Deployment drill/web"))
			},
		},
		{
			name:    "drill-prepare-waits-for-the-restores",
			plan:    drillingPlan(),
			east:    f.east(),
			west:    f.west(f.withStandbys(drillCM(drillRec(time.Minute, step(StepPrepare, time.Minute, -1))), drillCopy("pg-data", false), drillCopy("pg-wal", true), dbCopy, webCopy)...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				g.Expect(res.Actions).To(BeEmpty())
				g.Expect(drillReport(res).Waiting).To(ContainSubstring("drill copy pg-data-drill restoring from backup backup-b2"))
			},
		},
		{
			name:    "drill-wave-scales-the-copies-in-its-namespace",
			plan:    drillingPlan(),
			east:    f.east(),
			west:    f.west(f.withStandbys(append(copies, drillCM(drillRec(10*time.Minute, prepared, step(WaveStep("db"), 8*time.Minute, -1))), dbCopy, webCopy, theirs, claim, pv)...)...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				var scaled []string
				for _, a := range res.Actions {
					if s, ok := a.(*ScaleWorkload); ok {
						scaled = append(scaled, fmt.Sprintf("%s/%s=%d", s.Namespace, s.Name, s.Replicas))
					}
				}
				g.Expect(scaled).To(Equal([]string{"drill/postgres=3"}))
			},
		},
		{
			name: "drill-waits-for-the-scopes-of-its-manifests",
			plan: drillingPlanWithManifests(),
			east: f.east(),
			west: f.west(f.withStandbys()...),
			expect: func(g Gomega, res Result) {
				g.Expect(res.Actions).To(BeEmpty(), "no record before the agent knows what the drill may apply")
				g.Expect(drillReport(res).Phase).To(Equal(DrillStarting))
				g.Expect(drillReport(res).Waiting).To(ContainSubstring("which kinds of the waves' manifests are namespaced in cluster west is not known"))
			},
		},
		{
			name:       "drill-wave-applies-only-namespaced-manifests",
			plan:       drillingPlanWithManifests(),
			namespaced: drillScopes(),
			east:       f.east(),
			west:       f.west(f.withStandbys(append(copies, drillCM(drillRec(10*time.Minute, prepared, step(WaveStep("db"), time.Minute, -1))), dbCopy, webCopy, claim, pv)...)...),
			objects: func() map[observed.ObjectRef]*unstructured.Unstructured {
				o := drillObjects(drillLabels())
				o[observed.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: "drill", Name: "settings"}] = nil
				o[observed.ObjectRef{APIVersion: "postgresql.cnpg.io/v1", Kind: "Cluster", Namespace: "drill", Name: "pg"}] = nil
				return o
			}(),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				var applied []string
				for _, a := range res.Actions {
					if a, ok := a.(*ApplyObject); ok {
						applied = append(applied, a.Object.GetKind()+" "+a.Object.GetNamespace()+"/"+a.Object.GetName())
					}
				}
				g.Expect(applied).To(ConsistOf("ConfigMap drill/settings", "Cluster drill/pg"))
				g.Expect(drillReport(res).Notes).To(ContainElement(And(ContainSubstring("not applied in a drill"),
					ContainSubstring("ClusterIssuer letsencrypt"), ContainSubstring("Namespace prod"), ContainSubstring("Gadget prod/g"))))
			},
		},
		{
			name: "drill-gate-timeout-ends-the-drill-failed",
			plan: drillingPlan(func(d *plans.DRPlan) { d.Spec.Waves[0].Gates[0].Timeout.Duration = time.Minute }),
			east: f.east(),
			west: f.west(f.withStandbys(append(copies, drillCM(drillRec(10*time.Minute, prepared, step(WaveStep("db"), 8*time.Minute, -1))),
				statefulSetIn("drill", "postgres", 3, false), webCopy, claim, pv)...)...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				w := res.Actions[len(res.Actions)-1].(*WriteFailoverRecord)
				g.Expect(w.Record.Failed).To(BeTrue())
				g.Expect(w.Record.FinishedAt).To(Equal(now))
			},
		},
		{
			name:    "drill-succeeded-is-kept-until-keepFor",
			plan:    drillingPlan(),
			east:    f.east(),
			west:    f.west(f.withStandbys(append(copies, drillCM(finished(10*time.Minute)), dbUp, webCopy, claim, pv)...)...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				g.Expect(res.Actions).To(BeEmpty())
				r := drillReport(res)
				g.Expect(r.Phase).To(Equal(DrillSucceeded))
				g.Expect(r.RTO.Duration).To(Equal(2 * time.Minute))
				g.Expect(r.KeepUntil).To(Equal(now.Add(50 * time.Minute)))
				g.Expect(res.RequeueAfter).To(Equal(50 * time.Minute))
			},
		},
		{
			name:    "drill-teardown-deletes-its-workloads-and-claims-first",
			plan:    drillingPlan(),
			east:    f.east(),
			west:    f.west(f.withStandbys(append(copies, drillCM(finished(2*time.Hour)), dbUp, webCopy, claim, pv, theirs)...)...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				var deleted []string
				for _, a := range res.Actions {
					deleted = append(deleted, a.(*DeleteObject).Ref.String())
				}
				g.Expect(deleted).To(ConsistOf(ContainSubstring("postgres"), ContainSubstring("web"), ContainSubstring("data-postgres-0")))
				g.Expect(drillReport(res).Phase).To(Equal(DrillTearingDown))
			},
		},
		{
			name:       "drill-teardown-deletes-the-objects-of-its-manifests",
			plan:       drillingPlanWithManifests(),
			namespaced: drillScopes(),
			east:       f.east(),
			west:       f.west(f.withStandbys(append(copies, drillCM(finished(2*time.Hour)), pv)...)...),
			objects: func() map[observed.ObjectRef]*unstructured.Unstructured {
				o := drillObjects(drillLabels())
				settings := manifest("v1", "ConfigMap", "drill", "settings", nil).Object
				settings.SetLabels(drillLabels())
				o[objectRef(settings)] = settings
				// The team's own object of the same name in the drill's namespace: not the drill's.
				pg := manifest("postgresql.cnpg.io/v1", "Cluster", "drill", "pg", nil).Object
				pg.SetLabels(map[string]string{"team": "db"})
				o[objectRef(pg)] = pg
				return o
			}(),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				var deleted []string
				for _, a := range res.Actions {
					deleted = append(deleted, a.(*DeleteObject).Ref.String())
				}
				g.Expect(deleted).To(ConsistOf(ContainSubstring("ConfigMap drill/settings")), "first stage: the manifests' objects that carry the drill's labels")
			},
		},
		{
			name:    "drill-teardown-deletes-copies-and-namespace-last",
			plan:    drillingPlan(),
			east:    f.east(),
			west:    f.west(f.withStandbys(append(copies, drillCM(finished(2*time.Hour)), theirs, pv)...)...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				var deleted []string
				for _, a := range res.Actions {
					deleted = append(deleted, a.(*DeleteObject).Ref.String())
				}
				g.Expect(deleted).To(ConsistOf(ContainSubstring("pg-data-drill"), ContainSubstring("pg-wal-drill"), ContainSubstring("Namespace"), ContainSubstring("drill-pg-data")))
			},
		},
		{
			name:    "drill-teardown-keeps-a-namespace-it-did-not-create",
			plan:    drillingPlan(),
			east:    f.east(),
			west:    f.west(f.withStandbys(drillCM(finished(2*time.Hour)), theirs)...),
			objects: drillObjects(map[string]string{"team": "ours"}),
			expect: func(g Gomega, res Result) {
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(kinds(res)).To(Equal([]string{"*planner.WriteFailoverRecord"}))
				g.Expect(w.Record.TornDownAt).To(Equal(now))
			},
		},
		{
			name:    "drill-torn-down-when-the-plan-fails-over",
			plan:    drillingPlan(func(d *plans.DRPlan) { d.Spec.Failover = true }),
			east:    f.east(),
			west:    f.west(f.withStandbys(append(copies, drillCM(drillRec(10*time.Minute, prepared, dbDone, appsDone)))...)...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(ContainElement("*planner.DeleteObject"))
				g.Expect(drillReport(res).Phase).To(Equal(DrillTearingDown))
				g.Expect(res.Report.Plans[0].Lifecycle).To(Equal(LifecycleFailingOver))
			},
		},
		{
			name:    "drill-new-id-tears-the-old-one-down-first",
			plan:    drillingPlan(func(d *plans.DRPlan) { d.Spec.Drill.ID = "d2" }),
			east:    f.east(),
			west:    f.west(f.withStandbys(append(copies, drillCM(finished(5*time.Minute)))...)...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(HaveEach("*planner.DeleteObject"))
				g.Expect(drillReport(res).ID).To(Equal("d1"))
			},
		},
		{
			name:    "drill-moved-to-another-namespace-tears-the-old-one-down-first",
			plan:    drillingPlan(func(d *plans.DRPlan) { d.Spec.Drill.Namespace = "drill2" }),
			east:    f.east(),
			west:    f.west(f.withStandbys(append(copies, drillCM(drillRec(10*time.Minute, prepared)))...)...),
			objects: drillObjects(drillLabels()),
			expect: func(g Gomega, res Result) {
				touchesNothingProtected(g, res)
				g.Expect(kinds(res)).To(HaveEach("*planner.DeleteObject"), "the drill under way in namespace drill is not run on in drill2")
				g.Expect(kinds(res)).NotTo(BeEmpty())
				g.Expect(drillReport(res).Phase).To(Equal(DrillTearingDown))
				g.Expect(drillReport(res).Namespace).To(Equal("drill"))
			},
		},
		{
			name: "drill-moved-to-another-namespace-starts-there-once-torn-down",
			plan: drillingPlan(func(d *plans.DRPlan) { d.Spec.Drill.Namespace = "drill2" }),
			east: f.east(),
			west: f.west(f.withStandbys(drillCM(func() *FailoverRecord {
				r := finished(time.Hour)
				r.TornDownAt = now.Add(-10 * time.Minute)
				return r
			}()))...),
			expect: func(g Gomega, res Result) {
				g.Expect(kinds(res)).To(Equal([]string{"*planner.WriteFailoverRecord"}))
				w := res.Actions[0].(*WriteFailoverRecord)
				g.Expect(w.Record.Drill).To(Equal("d1"))
				g.Expect(w.Record.Namespace).To(Equal("drill2"))
				g.Expect(w.Record.TornDownAt.IsZero()).To(BeTrue())
			},
		},
	})
}

// A drill the plan no longer asks for is still torn down whole: the agent is asked about the
// kinds of its manifests, and reads their objects in the drill's namespace, so that its teardown
// finds the ones it created.
func TestDrillTeardownReadsDroppedDrillsManifests(t *testing.T) {
	g := NewWithT(t)
	f := newFailoverWorld()
	p := drillingPlanWithManifests()
	p.Spec.Drill = nil
	west := f.west(f.withStandbys(drillCM(drillRec(10*time.Minute, step(StepPrepare, 10*time.Minute, 8*time.Minute))))...)
	in := Input{Plans: &plans.Set{Plans: []*plans.Plan{p}}, Clusters: map[string]*observed.State{"east": f.east(), "west": west}, Owner: owner, Now: now}
	g.Expect(DrillKinds(in)["west"]).To(ContainElement(observed.Kind{APIVersion: "v1", Kind: "ConfigMap"}))
	west.Namespaced = drillScopes()
	g.Expect(FailoverReads(in)["west"]).To(ContainElements(
		observed.ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: "drill"},
		observed.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: "drill", Name: "settings"},
		observed.ObjectRef{APIVersion: "postgresql.cnpg.io/v1", Kind: "Cluster", Namespace: "drill", Name: "pg"}))
}

func statefulSetIn(namespace, name string, replicas int32, ready bool) any {
	s := statefulSet(name, replicas, ready)
	s.Namespace, s.Labels = namespace, drillLabels()
	return s
}

// The drill's plan moves every namespaced reference into the drill's namespace and leaves the
// plan it came from unchanged.
func TestDrillPlan(t *testing.T) {
	g := NewWithT(t)
	p := drillingPlan(func(d *plans.DRPlan) {
		d.Spec.Volumes[0].PV = &plans.PersistentVolume{Name: "pv-pg-data"}
		d.Spec.Traffic = &plans.Apply{Path: "traffic"}
	})
	dp, skipped, known := drillPlan(p, &observed.State{Name: "west"}, owner)
	g.Expect(skipped).To(BeEmpty())
	g.Expect(known).To(BeTrue(), "a plan without manifests needs no scopes")
	g.Expect(dp.Spec.Volumes[0].StandbyName).To(Equal("pg-data-drill"))
	g.Expect(dp.Spec.Volumes[0].PV.Name).To(Equal("drill-pv-pg-data"))
	g.Expect(dp.Spec.Volumes[0].PVC.Namespace).To(Equal("drill"))
	g.Expect(dp.Spec.Waves[0].Scale[0].Namespace).To(Equal("drill"))
	g.Expect(dp.Spec.Waves[1].Gates[1].Namespace).To(Equal("drill"))
	g.Expect(dp.Spec.Traffic).To(BeNil())
	// The plan as written is untouched.
	g.Expect(p.Spec.Volumes[0].StandbyName).To(Equal("pg-data"))
	g.Expect(p.Spec.Volumes[0].PV.Name).To(Equal("pv-pg-data"))
	g.Expect(p.Spec.Volumes[0].PVC.Namespace).To(Equal("prod"))
	g.Expect(p.Spec.Waves[0].Scale[0].Namespace).To(Equal("prod"))
	g.Expect(p.Spec.Traffic).NotTo(BeNil())
}

// drillManifests are a wave's manifests of every scope: what a drill applies of them depends on
// what the secondary's discovery says, never on a list of kinds drplan knows.
func drillManifests() []plans.Manifest {
	return []plans.Manifest{
		manifest("v1", "Namespace", "", "prod", nil),
		manifest("v1", "ConfigMap", "prod", "settings", nil),
		manifest("cert-manager.io/v1", "ClusterIssuer", "", "letsencrypt", nil),
		manifest("postgresql.cnpg.io/v1", "Cluster", "prod", "pg", nil),
		manifest("example.com/v1", "Gadget", "prod", "g", nil),
	}
}

// drillScopes is the secondary's discovery of drillManifests' kinds: Gadget is not served.
func drillScopes() map[observed.Kind]bool {
	return map[observed.Kind]bool{
		{APIVersion: "v1", Kind: "Namespace"}:                     false,
		{APIVersion: "v1", Kind: "ConfigMap"}:                     true,
		{APIVersion: "cert-manager.io/v1", Kind: "ClusterIssuer"}: false,
		{APIVersion: "postgresql.cnpg.io/v1", Kind: "Cluster"}:    true,
	}
}

func withDrillManifests(p *plans.Plan) *plans.Plan {
	p.SetManifests(p.Spec.Waves[0].Apply, drillManifests())
	return p
}

func drillingPlanWithManifests() *plans.Plan {
	return withDrillManifests(drillingPlan(func(d *plans.DRPlan) {
		d.Spec.Waves[0].Apply = &plans.Apply{Path: "manifests/db", Timeout: plans.Duration{Duration: 5 * time.Minute}}
	}))
}

// A drill applies a wave's manifests of namespaced kinds in its namespace, with its label, and
// none of the others: cluster-scoped kinds (whatever their name: the API server says, not a
// list), kinds the secondary does not serve, and every one while discovery is unread.
func TestDrillPlanManifests(t *testing.T) {
	for _, tc := range []struct {
		name       string
		namespaced map[observed.Kind]bool
		applied    []string
		skipped    []string
		known      bool
	}{
		{
			name: "discovery unread: nothing applied, and the drill must wait", known: false,
		},
		{
			name: "namespaced kinds move into the drill's namespace", namespaced: drillScopes(), known: true,
			applied: []string{"ConfigMap drill/settings", "Cluster drill/pg"},
			skipped: []string{
				"Namespace prod (manifests/db.yaml:1) (cluster-scoped)",
				"ClusterIssuer letsencrypt (manifests/db.yaml:1) (cluster-scoped)",
				"Gadget prod/g (manifests/db.yaml:1) (example.com/v1 is not served by cluster west)",
			},
		},
		{
			name: "a kind served cluster-scoped is skipped though its objects name a namespace", known: true,
			namespaced: map[observed.Kind]bool{{APIVersion: "v1", Kind: "ConfigMap"}: false},
			skipped: []string{
				"Namespace prod (manifests/db.yaml:1) (v1 is not served by cluster west)",
				"ConfigMap prod/settings (manifests/db.yaml:1) (cluster-scoped)",
				"ClusterIssuer letsencrypt (manifests/db.yaml:1) (cert-manager.io/v1 is not served by cluster west)",
				"Cluster prod/pg (manifests/db.yaml:1) (postgresql.cnpg.io/v1 is not served by cluster west)",
				"Gadget prod/g (manifests/db.yaml:1) (example.com/v1 is not served by cluster west)",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := drillingPlanWithManifests()
			dp, skipped, known := drillPlan(p, &observed.State{Name: "west", Namespaced: tc.namespaced}, owner)
			g.Expect(known).To(Equal(tc.known))
			g.Expect(skipped).To(Equal(tc.skipped))
			var applied []string
			for _, m := range dp.ManifestsOf(dp.Spec.Waves[0].Apply) {
				g.Expect(m.Object.GetLabels()).To(Equal(drillLabels()), "the labels its teardown deletes it by")
				applied = append(applied, m.Object.GetKind()+" "+m.Object.GetNamespace()+"/"+m.Object.GetName())
			}
			g.Expect(applied).To(Equal(tc.applied))
			g.Expect(p.ManifestsOf(p.Spec.Waves[0].Apply)).To(Equal(drillManifests()), "the plan's own manifests are untouched")
		})
	}
}

// The agent asks the secondary about the kinds of the manifests of every plan that drills, once
// each.
func TestDrillKinds(t *testing.T) {
	g := NewWithT(t)
	f := newFailoverWorld()
	p := drillingPlanWithManifests()
	p.SetManifests(p.Spec.Waves[0].Apply, append(drillManifests(), manifest("v1", "ConfigMap", "prod", "more", nil)))
	in := Input{Plans: &plans.Set{Plans: []*plans.Plan{p}}, Clusters: map[string]*observed.State{"east": f.east(), "west": f.west()}}
	g.Expect(DrillKinds(in)).To(Equal(map[string][]observed.Kind{"west": {
		{APIVersion: "v1", Kind: "Namespace"}, {APIVersion: "v1", Kind: "ConfigMap"}, {APIVersion: "cert-manager.io/v1", Kind: "ClusterIssuer"},
		{APIVersion: "postgresql.cnpg.io/v1", Kind: "Cluster"}, {APIVersion: "example.com/v1", Kind: "Gadget"},
	}}))
}
