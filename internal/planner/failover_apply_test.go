package planner

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

func manifest(apiVersion, kind, ns, name string, extra map[string]any) plans.Manifest {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name}}}
	if ns != "" {
		u.SetNamespace(ns)
	}
	for k, v := range extra {
		u.Object[k] = v
	}
	return plans.Manifest{File: "manifests/db.yaml", Line: 1, Object: u}
}

// inCluster is m as the secondary holds it once applied, with status.
func inCluster(m plans.Manifest, status map[string]any) *unstructured.Unstructured {
	u := withDigest(m.Object, Digest(m.Object))
	if status != nil {
		u.Object["status"] = status
	}
	return u
}

// established is a CRD's status: names accepted, and established or not yet.
func established(ok bool) map[string]any {
	conds := []any{map[string]any{"type": "NamesAccepted", "status": "True"}}
	if ok {
		conds = append(conds, map[string]any{"type": "Established", "status": "True"})
	}
	return map[string]any{"conditions": conds}
}

func jobStatus(condition string) map[string]any {
	if condition == "" {
		return map[string]any{"active": int64(1)}
	}
	return map[string]any{"conditions": []any{map[string]any{"type": condition, "status": "True"}}}
}

// TestFailoverApplyAndTraffic covers a wave's manifests (namespaces and CRDs first, the rest once
// they are ready, the volumes once everything is), the traffic step after the last wave, and a
// gate's Job.
func TestFailoverApplyAndTraffic(t *testing.T) {
	f := newFailoverWorld()
	ns := manifest("v1", "Namespace", "", "prod", nil)
	crd := manifest("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "clusters.postgresql.cnpg.io", nil)
	cr := manifest("postgresql.cnpg.io/v1", "Cluster", "prod", "pg", map[string]any{"spec": map[string]any{"instances": int64(3)}})
	svc := manifest("v1", "Service", "prod", "web", map[string]any{"spec": map[string]any{"selector": map[string]any{"site": "west"}}})
	gate := plans.Gate{APIVersion: "batch/v1", Kind: "Job", Namespace: "prod", Name: "smoke", Timeout: plans.Duration{Duration: 10 * time.Minute},
		Job: &plans.JobGate{Image: "postgres:17", Command: []string{"pg_isready"}, BackoffLimit: 2}}
	pl := failoverPlan(func(d *plans.DRPlan) {
		d.Spec.Waves[0].Apply = &plans.Apply{Path: "manifests/db", Timeout: plans.Duration{Duration: 5 * time.Minute}}
		d.Spec.Waves[1].Gates = append(d.Spec.Waves[1].Gates, gate)
		d.Spec.Traffic = &plans.Apply{Path: "traffic", Timeout: plans.Duration{Duration: 5 * time.Minute}}
	})
	pl.SetManifests(pl.Spec.Waves[0].Apply, []plans.Manifest{cr, crd, ns})
	pl.SetManifests(pl.Spec.Traffic, []plans.Manifest{svc})
	ref := func(m plans.Manifest) observed.ObjectRef { return objectRef(m.Object) }
	dbWest := func(objects map[observed.ObjectRef]*unstructured.Unstructured, wave StepRecord) *observed.State {
		s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, wave))), f.fData, f.fWal)
		s.Objects = objects
		return s
	}
	dbEast := f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbWave)), f.finalData, f.finalWal)
	decide := func(east, west *observed.State) Result {
		return Decide(Input{Plans: &plans.Set{Plans: []*plans.Plan{pl}}, Clusters: map[string]*observed.State{"east": east, "west": west},
			Now: now, Namespace: "longhorn-system", Owner: owner, Revision: rev})
	}
	applied := func(res Result) []string {
		var out []string
		for _, a := range res.Actions {
			if a, ok := a.(*ApplyObject); ok {
				out = append(out, a.Object.GetKind())
			}
		}
		return out
	}

	t.Run("the wave's reads include its manifests", func(t *testing.T) {
		g := NewWithT(t)
		in := Input{Plans: &plans.Set{Plans: []*plans.Plan{pl}}, Clusters: map[string]*observed.State{"east": dbEast, "west": dbWest(nil, f.dbWave)},
			Now: now, Namespace: "longhorn-system", Owner: owner, Revision: rev}
		g.Expect(FailoverReads(in)["west"]).To(ContainElements(ref(ns), ref(crd), ref(cr)))
	})
	t.Run("not read yet: nothing applied", func(t *testing.T) {
		g := NewWithT(t)
		res := decide(dbEast, dbWest(nil, f.dbWave))
		g.Expect(res.Actions).To(BeEmpty())
		g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("not read from cluster west yet"))
	})
	t.Run("namespaces and CRDs first", func(t *testing.T) {
		g := NewWithT(t)
		res := decide(dbEast, dbWest(map[observed.ObjectRef]*unstructured.Unstructured{ref(ns): nil, ref(crd): nil, ref(cr): nil}, f.dbWave))
		g.Expect(applied(res)).To(ConsistOf("Namespace", "CustomResourceDefinition"))
		a := res.Actions[0].(*ApplyObject)
		g.Expect(a.Object.GetAnnotations()).To(HaveKeyWithValue(AnnotationApplied, Digest(a.Object)))
		g.Expect(a.Cluster()).To(Equal("west"))
	})
	t.Run("the rest waits for the CRD to be established", func(t *testing.T) {
		g := NewWithT(t)
		res := decide(dbEast, dbWest(map[observed.ObjectRef]*unstructured.Unstructured{ref(ns): inCluster(ns, nil), ref(crd): inCluster(crd, established(false)), ref(cr): nil}, f.dbWave))
		g.Expect(res.Actions).To(BeEmpty())
		g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("CustomResourceDefinition clusters.postgresql.cnpg.io (manifests/db.yaml:1): InProgress"))
	})
	t.Run("a manifest changed since it was applied is applied again", func(t *testing.T) {
		g := NewWithT(t)
		old := inCluster(crd, established(true))
		old.SetAnnotations(map[string]string{AnnotationApplied: "older"})
		res := decide(dbEast, dbWest(map[observed.ObjectRef]*unstructured.Unstructured{ref(ns): inCluster(ns, nil), ref(crd): old, ref(cr): nil}, f.dbWave))
		g.Expect(applied(res)).To(ConsistOf("CustomResourceDefinition"))
	})
	t.Run("established: the rest is applied, volumes wait", func(t *testing.T) {
		g := NewWithT(t)
		res := decide(dbEast, dbWest(map[observed.ObjectRef]*unstructured.Unstructured{ref(ns): inCluster(ns, nil), ref(crd): inCluster(crd, established(true)), ref(cr): nil}, f.dbWave))
		g.Expect(applied(res)).To(ConsistOf("Cluster"))
		g.Expect(kinds(res)).NotTo(ContainElement("*planner.ActivateVolume"))
	})
	t.Run("every object ready: the wave's volumes are activated", func(t *testing.T) {
		g := NewWithT(t)
		res := decide(dbEast, dbWest(map[observed.ObjectRef]*unstructured.Unstructured{ref(ns): inCluster(ns, nil), ref(crd): inCluster(crd, established(true)), ref(cr): inCluster(cr, nil)}, f.dbWave))
		g.Expect(kinds(res)).To(ConsistOf("*planner.ActivateVolume"))
	})
	t.Run("not ready within the timeout: the failover stalls", func(t *testing.T) {
		g := NewWithT(t)
		late := step(WaveStep("db"), 6*time.Minute, -1)
		res := decide(dbEast, dbWest(map[observed.ObjectRef]*unstructured.Unstructured{ref(ns): inCluster(ns, nil), ref(crd): inCluster(crd, established(false)), ref(cr): nil}, late))
		g.Expect(res.Report.Plans[0].FailoverStatus.Phase).To(Equal(FailoverStalled))
		g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("not ready after 5m0s"))
	})

	appsWest := func(objects map[observed.ObjectRef]*unstructured.Unstructured, steps ...StepRecord) *observed.State {
		s := f.caughtUpWest(recordCM(f.withVolumes(f.planned(append([]StepRecord{f.finalDone, f.catchUpDone, f.dbDone}, steps...)...))), f.dbActive, f.walActive,
			ourPV("pg-data"), ourPVC("prod", "data-postgres-0"))
		s.StatefulSets[0] = statefulSet("postgres", 3, true)
		s.Deployments[0] = deployment("web", 2, true)
		s.Objects = objects
		return s
	}
	appsEast := f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbDone, f.appsWave)), f.finalData, f.finalWal)
	migrate := observed.ObjectRef{APIVersion: "batch/v1", Kind: "Job", Namespace: "prod", Name: "migrate"}
	smoke := observed.ObjectRef{APIVersion: "batch/v1", Kind: "Job", Namespace: "prod", Name: "smoke"}
	done := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": "migrate", "namespace": "prod"}, "status": jobStatus("Complete")}}
	var created *unstructured.Unstructured
	t.Run("a Job gate creates its Job", func(t *testing.T) {
		g := NewWithT(t)
		res := decide(appsEast, appsWest(map[observed.ObjectRef]*unstructured.Unstructured{migrate: done, smoke: nil}, f.appsWave))
		g.Expect(applied(res)).To(ConsistOf("Job"))
		created = res.Actions[0].(*ApplyObject).Object
		g.Expect(created.GetName()).To(Equal("smoke"))
		containers, _, _ := unstructured.NestedSlice(created.Object, "spec", "template", "spec", "containers")
		g.Expect(containers).To(HaveLen(1))
		g.Expect(containers[0]).To(HaveKeyWithValue("command", []any{"pg_isready"}))
		restart, _, _ := unstructured.NestedString(created.Object, "spec", "template", "spec", "restartPolicy")
		g.Expect(restart).To(Equal("Never"))
	})
	t.Run("a Job of another failover is replaced", func(t *testing.T) {
		g := NewWithT(t)
		old := created.DeepCopy()
		old.SetAnnotations(map[string]string{AnnotationApplied: "of-another-failover"})
		old.Object["status"] = jobStatus("Complete")
		res := decide(appsEast, appsWest(map[observed.ObjectRef]*unstructured.Unstructured{migrate: done, smoke: old}, f.appsWave))
		g.Expect(kinds(res)).To(ConsistOf("*planner.DeleteObject"))
		g.Expect(res.Actions[0].(*DeleteObject).Ref).To(Equal(smoke))
	})
	t.Run("the gate waits while its Job runs, fails with it", func(t *testing.T) {
		g := NewWithT(t)
		running := created.DeepCopy()
		running.Object["status"] = jobStatus("")
		res := decide(appsEast, appsWest(map[observed.ObjectRef]*unstructured.Unstructured{migrate: done, smoke: running}, f.appsWave))
		g.Expect(res.Actions).To(BeEmpty())
		g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("gate Job prod/smoke: InProgress"))
		failed := created.DeepCopy()
		failed.Object["status"] = jobStatus("Failed")
		res = decide(appsEast, appsWest(map[observed.ObjectRef]*unstructured.Unstructured{migrate: done, smoke: failed}, f.appsWave))
		g.Expect(res.Actions).To(BeEmpty())
		g.Expect(res.Report.Plans[0].FailoverStatus.Waiting).To(ContainSubstring("Failed"))
	})
	t.Run("the Job completed: the traffic step starts after the last wave", func(t *testing.T) {
		g := NewWithT(t)
		complete := created.DeepCopy()
		complete.Object["status"] = jobStatus("Complete")
		res := decide(appsEast, appsWest(map[observed.ObjectRef]*unstructured.Unstructured{migrate: done, smoke: complete}, f.appsWave))
		g.Expect(kinds(res)).To(ConsistOf("*planner.WriteFailoverRecord"))
		w := res.Actions[0].(*WriteFailoverRecord)
		g.Expect(w.Record.Steps[len(w.Record.Steps)-1].Name).To(Equal(StepTraffic))
		g.Expect(w.Record.FinishedAt.IsZero()).To(BeTrue())
	})
	appsDone := step(WaveStep("apps"), 20*time.Second, 10*time.Second)
	traffic := step(StepTraffic, 10*time.Second, -1)
	t.Run("traffic is applied, then the failover completes", func(t *testing.T) {
		g := NewWithT(t)
		east := f.fencedEast(f.withVolumes(f.planned(f.finalDone, f.catchUpDone, f.dbDone, appsDone, traffic)), f.finalData, f.finalWal)
		res := decide(east, appsWest(map[observed.ObjectRef]*unstructured.Unstructured{ref(svc): nil}, appsDone, traffic))
		g.Expect(applied(res)).To(ConsistOf("Service"))
		res = decide(east, appsWest(map[observed.ObjectRef]*unstructured.Unstructured{ref(svc): inCluster(svc, nil)}, appsDone, traffic))
		g.Expect(kinds(res)).To(ConsistOf("*planner.WriteFailoverRecord"))
		g.Expect(res.Actions[0].(*WriteFailoverRecord).Record.FinishedAt.IsZero()).To(BeFalse())
	})
}
