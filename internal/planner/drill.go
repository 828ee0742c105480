package planner

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// A drill rehearses a plan's failover in its secondary without touching what the plan
// protects. It is the failover chain itself (failoverRun) run on the plan rewritten for the
// drill (drillPlan): each standby volume is replaced by a drill copy, a normal Longhorn volume
// restored from the backup the standby last restored; claims, workloads, gates and the
// namespaced objects of the waves' manifests move into the drill's namespace; cluster-scoped
// manifests and the traffic step are left out. The chain's first step, prepare, creates the
// namespace, the copies and copies of the waves' workloads (scaled to zero) and waits until
// every copy is restored; the waves then run as in a failover, and their durations are what
// the failover would have taken after catch-up. The drill's record (DrillRecordName) lives in
// the secondary beside the failover's. After spec.drill.keepFor (or when the drill leaves the
// plan, another id replaces it, or the plan fails over) every object the drill created, found
// by its LabelDrill, is deleted; nothing else is. The drill never writes to a standby volume,
// a source volume or the primary.

// StepPrepare is a drill's first step.
const StepPrepare = "prepare"

// DrillRecordName is the name of a plan's drill record, a ConfigMap in Longhorn's namespace.
func DrillRecordName(plan string) string { return "drplan-drill-" + plan }

// DrillVolumeName is the name of the drill copy of a standby volume.
func DrillVolumeName(standby string) string { return standby + "-drill" }

// DrillPVName is the name of the drill's PersistentVolume for a plan's PersistentVolume name
// (PersistentVolumes are not namespaced: the drill's needs a name of its own).
func DrillPVName(namespace, pv string) string {
	name := namespace + "-" + pv
	if len(name) > 253 {
		name = name[:253]
	}
	return strings.TrimRight(name, "-.")
}

// drillPlan is p as its drill runs it in sec: volumes replaced by their drill copies,
// everything namespaced moved into the drill's namespace, no traffic step, and the waves'
// manifests labelled as the drill's objects (drillObjectLabels, with owner) and without the
// objects a drill must not apply. Those are the objects of kinds sec
// does not serve as namespaced (sec.Namespaced, read by the agent from the API server's
// discovery): cluster-scoped objects would change the cluster for everyone, and an object of a
// kind it does not serve could not be applied. skipped names them. scopesKnown is false when a
// wave has manifests and sec.Namespaced was not read this pass: then every manifest is left out
// and the drill must not run a step.
func drillPlan(p *plans.Plan, sec *observed.State, owner string) (dp *plans.Plan, skipped []string, scopesKnown bool) {
	d := p.Spec.Drill
	dp = p.Clone()
	s := &dp.Spec
	s.Traffic = nil
	s.Volumes = slices.Clone(s.Volumes)
	for i := range s.Volumes {
		v := &s.Volumes[i]
		v.StandbyName = DrillVolumeName(v.StandbyName)
		if v.PV != nil {
			pv := *v.PV
			pv.Name = DrillPVName(d.Namespace, pv.Name)
			v.PV = &pv
		}
		if v.PVC != nil {
			pvc := *v.PVC
			pvc.Namespace = d.Namespace
			v.PVC = &pvc
		}
	}
	scopesKnown = true
	s.Waves = slices.Clone(s.Waves)
	for i := range s.Waves {
		w := &s.Waves[i]
		w.BackupHooks = nil
		w.Scale = slices.Clone(w.Scale)
		for j := range w.Scale {
			w.Scale[j].Namespace = d.Namespace
		}
		w.Gates = slices.Clone(w.Gates)
		for j := range w.Gates {
			if w.Gates[j].Namespace != "" || w.Gates[j].Job != nil {
				w.Gates[j].Namespace = d.Namespace
			}
		}
		if w.Apply == nil {
			continue
		}
		var ms []plans.Manifest
		for _, m := range p.ManifestsOf(w.Apply) {
			namespaced, served := sec.Namespaced[observed.Kind{APIVersion: m.Object.GetAPIVersion(), Kind: m.Object.GetKind()}]
			switch {
			case sec.Namespaced == nil:
				scopesKnown = false
				continue
			case !served:
				skipped = append(skipped, fmt.Sprintf("%s (%s is not served by cluster %s)", m, m.Object.GetAPIVersion(), sec.Name))
				continue
			case !namespaced:
				skipped = append(skipped, fmt.Sprintf("%s (cluster-scoped)", m))
				continue
			}
			obj := m.Object.DeepCopy()
			obj.SetNamespace(d.Namespace)
			// The drill's labels, so its teardown finds and deletes the object.
			labels := maps.Clone(obj.GetLabels())
			if labels == nil {
				labels = map[string]string{}
			}
			maps.Copy(labels, drillObjectLabels(owner, p.Name(), d.ID))
			obj.SetLabels(labels)
			m.Object = obj
			ms = append(ms, m)
		}
		dp.SetManifests(w.Apply, ms)
	}
	return dp, skipped, scopesKnown
}

// drillKinds are the kinds of the objects of p's waves' manifests: what the agent asks the
// secondary's discovery about (DrillKinds) before a pass runs p's drill.
func drillKinds(p *plans.Plan) []observed.Kind {
	var out []observed.Kind
	for _, w := range p.Spec.Waves {
		for _, m := range p.ManifestsOf(w.Apply) {
			k := observed.Kind{APIVersion: m.Object.GetAPIVersion(), Kind: m.Object.GetKind()}
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// DrillKinds are the kinds of the manifests of every drill a pass may run or tear down, by the
// cluster the drill runs in: the agent reads whether each is namespaced into that cluster's
// observed.State.Namespaced before FailoverReads, FailoverGates and Decide.
func DrillKinds(in Input) map[string][]observed.Kind {
	out := map[string][]observed.Kind{}
	if in.Plans == nil {
		return out
	}
	for _, u := range drillsUnderWay(in) {
		p, sec := u.plan, u.sec
		for _, k := range drillKinds(p) {
			if !slices.Contains(out[sec.Name], k) {
				out[sec.Name] = append(out[sec.Name], k)
			}
		}
	}
	return out
}

// drill decides a plan's drill: it starts, runs, keeps or tears down the drill the plan asks
// for, and tears down any other. With failover true (or a failover done) only teardown runs.
func (d *decider) drill(p *plans.Plan, prim, sec *observed.State, r *PlanReport, failingOver bool) {
	u, found, problem := drillOf(p, sec, d.in.Owner)
	if problem != "" {
		r.Problems = append(r.Problems, problem)
		return
	}
	want := p.Spec.Drill
	if failingOver {
		want = nil
	}
	if !found && want == nil {
		return
	}
	rec := u.stored.rec
	rep := &DrillReport{}
	r.Drill = rep
	if rec != nil {
		rep.fill(rec)
	}
	switch {
	case rec != nil && rec.TornDownAt.IsZero() && d.drillOver(rec, want, failingOver):
		d.teardown(u, rep)
		return
	case rec != nil && (want == nil || sameDrill(rec, want)) && !rec.TornDownAt.IsZero():
		rep.Phase = DrillTornDown
		return
	case rec != nil && sameDrill(rec, want):
		// Under way or kept: run the chain (a finished one only reports).
	case want == nil:
		return
	default:
		// No drill yet, or the previous one is gone: start this one.
		rec = nil
		*rep = DrillReport{}
	}
	rep.ID, rep.Namespace = want.ID, want.Namespace
	f := &failoverRun{d: d, p: u.run, orig: p, prim: prim, sec: sec, now: d.in.Now, steps: map[string]*FailoverStepReport{}, plan: r, drill: want,
		rep: &FailoverReport{Phase: FailoverPending, Steps: []FailoverStepReport{}, Volumes: []FailoverVolumeReport{}}}
	f.volumes = drillVolumeReports(r.Volumes)
	if len(u.skipped) > 0 {
		f.rep.Notes = append(f.rep.Notes, fmt.Sprintf("not applied in a drill, as it would change cluster %s for everyone or cannot be applied there: %s", sec.Name, joinFirst(u.skipped, 5)))
	}
	switch {
	case rec == nil && !u.scopesKnown:
		f.rep.Waiting = fmt.Sprintf("the drill waits: which kinds of the waves' manifests are namespaced in cluster %s is not known yet (its API discovery could not be read)", sec.Name)
		f.report()
		rep.run(f.rep, DrillStarting, want.KeepFor.Duration)
		return
	case rec == nil:
		f.startDrill(u.stored.resourceVersion, r.Volumes)
		f.report()
		rep.run(f.rep, DrillStarting, want.KeepFor.Duration)
		return
	}
	f.rec, f.rv = rec, u.stored.resourceVersion
	if u.scopesKnown {
		f.advance()
	} else {
		f.rep.Waiting = fmt.Sprintf("the drill waits: which kinds of the waves' manifests are namespaced in cluster %s is not known this pass (its API discovery could not be read)", sec.Name)
	}
	f.report()
	phase := drillPhaseOf(f.rec)
	rep.run(f.rep, phase, want.KeepFor.Duration)
	if phase != DrillRunning {
		d.requeueAfter(rep.KeepUntil.Sub(d.in.Now))
	}
}

// drillPhaseOf is the phase a started drill's record shows: running until it finished, then
// succeeded or failed.
func drillPhaseOf(rec *FailoverRecord) DrillPhase {
	switch {
	case rec.Failed:
		return DrillFailed
	case !rec.FinishedAt.IsZero():
		return DrillSucceeded
	}
	return DrillRunning
}

// sameDrill reports whether the drill of rec is the one want asks for: the same id in the same
// namespace (a drill moved to another namespace is a new one there).
func sameDrill(rec *FailoverRecord, want *plans.Drill) bool {
	return rec.Drill == want.ID && rec.Namespace == want.Namespace
}

// drillOver reports whether the drill of rec must be torn down now: its time is up, the plan
// asks for another drill or none, or the plan fails over.
func (d *decider) drillOver(rec *FailoverRecord, want *plans.Drill, failingOver bool) bool {
	switch {
	case failingOver, want == nil, !sameDrill(rec, want):
		return true
	case rec.FinishedAt.IsZero():
		return false
	}
	return !d.in.Now.Before(rec.FinishedAt.Add(want.KeepFor.Duration))
}

// drillVolumeReports renames the plan's volume reports' standbys to their drill copies, for
// the run's report.
func drillVolumeReports(in []VolumeReport) []VolumeReport {
	out := slices.Clone(in)
	for i := range out {
		out[i].Standby = DrillVolumeName(out[i].Standby)
	}
	return out
}

// startDrill writes the drill's record: which backup each copy (VolumeRecord.Standby)
// restores and the data-loss
// window a failover now would have, fixed at the start. It starts only when every standby
// volume has restored a backup that the secondary knows.
func (f *failoverRun) startDrill(rv string, volumes []VolumeReport) {
	s := f.p.Spec
	byName := map[string]VolumeReport{}
	for _, v := range volumes {
		byName[v.Name] = v
	}
	var missing []string
	var recs []VolumeRecord
	for _, v := range s.Volumes {
		vr := byName[v.Name]
		switch {
		case vr.Restored == "":
			missing = append(missing, fmt.Sprintf("the standby volume of %s has restored no backup yet", v.Name))
		case f.sec.Backup(vr.Restored) == nil || f.sec.Backup(vr.Restored).Status.URL == "":
			missing = append(missing, fmt.Sprintf("backup %s restored by the standby volume of %s is not in cluster %s", vr.Restored, v.Name, f.sec.Name))
		default:
			recs = append(recs, VolumeRecord{Name: v.Name, Standby: v.StandbyName, Restored: vr.Restored, SnapshotAt: vr.RestoredAt,
				DataLoss: metav1.Duration{Duration: f.now.Sub(vr.RestoredAt)}, DataLossKnown: !vr.RestoredAt.IsZero()})
		}
	}
	if len(missing) > 0 {
		f.rep.Waiting = "the drill waits: " + joinFirst(missing, 3)
		return
	}
	rec := &FailoverRecord{Plan: f.p.Name(), Primary: s.Primary, Secondary: s.Secondary, Revision: f.d.in.Revision, StartedAt: f.now,
		Drill: f.drill.ID, Namespace: f.drill.Namespace, Volumes: recs, Steps: []StepRecord{{Name: StepPrepare, StartedAt: f.now}}}
	f.d.add(f.recordWrite(rec, rv, "drill "+f.drill.ID+" started"))
	f.rep.Waiting = fmt.Sprintf("writing the drill record to cluster %s", f.sec.Name)
}

// prepare is a drill's first step: its namespace, a drill copy of every standby volume from
// the backup the record names, and a copy of every workload the waves scale, at zero
// replicas. It is done once every copy is restored and detached; its time is not counted in
// what a failover would take (a standby volume is restored already).
func (f *failoverRun) prepare(st *StepRecord) stepResult {
	var pending, failed []string
	ns := observed.ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: f.drill.Namespace}
	if have, why := gateObject(f.sec, ns); have == nil {
		if !f.notFound(ns) {
			return stepResult{waiting: fmt.Sprintf("drill namespace %s: %s", f.drill.Namespace, why)}
		}
		f.d.add(&ApplyObject{Target: Target{f.sec.Name, f.p.Name()}, Object: f.drillNamespace(), Reason: "drill " + f.drill.ID})
		return stepResult{waiting: "creating the drill namespace " + f.drill.Namespace}
	}
	for _, vr := range f.rec.Volumes {
		name := vr.Standby // the drill copy: the record is the drill plan's
		vol := f.sec.Volume(name)
		switch {
		case vol == nil:
			if a := f.drillCopy(vr); a != nil {
				f.d.add(a)
			}
			pending = append(pending, fmt.Sprintf("creating drill copy %s from backup %s", name, vr.Restored))
		case vol.Labels[LabelDrill] != f.drill.ID || !owned(f.d.in.Owner, vol.Labels):
			failed = append(failed, fmt.Sprintf("volume %s in cluster %s is not this drill's; drplan does not touch it", name, f.sec.Name))
		case vol.Status.Robustness == longhorn.VolumeRobustnessFaulted || restoreFailed(vol):
			failed = append(failed, fmt.Sprintf("drill copy %s could not be restored: %s", name, restoreFailure(vol)))
		case !longhorn.ActivationSettled(vol):
			pending = append(pending, fmt.Sprintf("drill copy %s restoring from backup %s (%s)", name, vr.Restored, stateOrUnknown(vol.Status.State)))
		}
	}
	pending = append(pending, f.copyWorkloads()...)
	timeout := f.p.Spec.Activation.CatchUpTimeout.Duration
	switch {
	case len(failed) > 0:
		return stepResult{stalled: true, waiting: joinFirst(failed, 3)}
	case len(pending) > 0 && f.now.Sub(st.StartedAt) >= timeout:
		return stepResult{stalled: true, waiting: fmt.Sprintf("not ready after %s (spec.activation.catchUpTimeout): %s", timeout, joinFirst(pending, 3))}
	case len(pending) > 0:
		return stepResult{waiting: "drill prepare: " + joinFirst(pending, 3)}
	}
	return stepResult{done: true, note: fmt.Sprintf("%d drill copies restored", len(f.rec.Volumes))}
}

// drillNamespace is the drill's namespace, created when it does not exist (and deleted with
// the drill, as it carries the drill's label).
func (f *failoverRun) drillNamespace() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetName(f.drill.Namespace)
	u.SetLabels(f.labels(nil))
	return u
}

// drillCopy creates the drill copy of one standby volume: a normal volume (not a standby)
// restoring once from the recorded backup, which Longhorn detaches when the restore is done.
func (f *failoverRun) drillCopy(vr VolumeRecord) *CreateStandbyVolume {
	b := f.sec.Backup(vr.Restored)
	if b == nil {
		return nil
	}
	var v plans.Volume
	for _, pv := range f.p.Spec.Volumes {
		if pv.Name == vr.Name {
			v = pv
		}
	}
	if v.Name == "" {
		return nil // left the plan since the drill started
	}
	vol := desiredStandby(f.p, v, b, f.d.in.Namespace, f.d.in.Owner)
	// Not a standby: Longhorn restores it once and detaches it, and wants a frontend for it
	// (its webhook refuses a v1 volume without one that is not a standby).
	vol.Spec.Standby, vol.Spec.Frontend = false, longhorn.VolumeFrontendBlockDev
	vol.Labels = f.labels(map[string]string{LabelSourceVolume: v.Name})
	return &CreateStandbyVolume{Target: Target{f.sec.Name, f.p.Name()}, Volume: vol, Backup: b.Name}
}

// copyWorkloads copies each workload the waves scale from its namespace in the secondary
// into the drill's namespace at zero replicas, unless a wave's manifests hold it. It returns
// what is not there yet.
func (f *failoverRun) copyWorkloads() []string {
	fromManifests := map[observed.ObjectRef]bool{}
	for _, w := range f.p.Spec.Waves {
		for _, ref := range manifestRefs(f.p.ManifestsOf(w.Apply)) {
			fromManifests[ref] = true
		}
	}
	var pending []string
	for i, w := range f.p.Spec.Waves {
		for j, sc := range w.Scale {
			ref := observed.ObjectRef{APIVersion: sc.APIVersion, Kind: sc.Kind, Namespace: f.drill.Namespace, Name: sc.Name}
			if fromManifests[ref] || !cachedKind(sc.APIVersion, sc.Kind) {
				continue
			}
			if cachedWorkload(f.sec, sc.Kind, sc.Namespace, sc.Name) != nil {
				continue // there already (copied, or the team's own)
			}
			src := f.orig.Spec.Waves[i].Scale[j]
			obj := cachedWorkload(f.sec, src.Kind, src.Namespace, src.Name)
			if obj == nil {
				pending = append(pending, fmt.Sprintf("%s %s/%s to copy into the drill is not in cluster %s", src.Kind, src.Namespace, src.Name, f.sec.Name))
				continue
			}
			f.d.add(&ApplyObject{Target: Target{f.sec.Name, f.p.Name()}, Object: f.workloadCopy(obj, sc), Reason: "drill " + f.drill.ID + ": copy of " + src.Namespace + "/" + src.Name})
			pending = append(pending, fmt.Sprintf("copying %s %s/%s into the drill", src.Kind, src.Namespace, src.Name))
		}
	}
	return pending
}

// workloadCopy is a workload's copy in the drill's namespace: its spec at zero replicas, its
// labels and annotations with the drill's, nothing of its status or identity.
func (f *failoverRun) workloadCopy(obj runtime.Object, sc plans.Scale) *unstructured.Unstructured {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		m = map[string]any{}
	}
	src := &unstructured.Unstructured{Object: m}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": m["spec"]}}
	u.SetAPIVersion(sc.APIVersion)
	u.SetKind(sc.Kind)
	u.SetName(sc.Name)
	u.SetNamespace(f.drill.Namespace)
	labels := maps.Clone(src.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, f.labels(nil))
	u.SetLabels(labels)
	annotations := map[string]string{}
	for k, v := range src.GetAnnotations() {
		if !strings.HasPrefix(k, "kubectl.kubernetes.io/") && !strings.HasPrefix(k, "deployment.kubernetes.io/") {
			annotations[k] = v
		}
	}
	if len(annotations) > 0 {
		u.SetAnnotations(annotations)
	}
	_ = unstructured.SetNestedField(u.Object, int64(0), "spec", "replicas")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return u
}

// teardown deletes what the drill of rec created, in two stages: workloads, claims, Jobs and
// the manifests' objects first, then the PersistentVolumes, the drill copies and the
// namespace. Only objects with the drill's label (and drplan's owner and plan labels) are
// deleted; one being deleted counts as gone. Once nothing is left the record says so.
func (d *decider) teardown(u drillUnderWay, rep *DrillReport) {
	p, sec, rec := u.plan, u.sec, u.stored.rec
	rep.Phase = DrillTearingDown
	want := drillObjectLabels(d.in.Owner, p.Name(), rec.Drill)
	ours := func(labels map[string]string) bool {
		return owned(d.in.Owner, labels) && labels[LabelPlan] == p.Name() && labels[LabelDrill] == rec.Drill
	}
	var first, second []observed.ObjectRef
	for _, dep := range sec.Deployments {
		if ours(dep.Labels) && dep.DeletionTimestamp == nil {
			first = append(first, observed.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: dep.Namespace, Name: dep.Name})
		}
	}
	for _, st := range sec.StatefulSets {
		if ours(st.Labels) && st.DeletionTimestamp == nil {
			first = append(first, observed.ObjectRef{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: st.Namespace, Name: st.Name})
		}
	}
	for _, c := range sec.PersistentVolumeClaims {
		if ours(c.Labels) && c.DeletionTimestamp == nil {
			first = append(first, observed.ObjectRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: c.Namespace, Name: c.Name})
		}
	}
	for _, ref := range u.reads() {
		if u, read := sec.Objects[ref]; read && u != nil && ours(u.GetLabels()) && u.GetDeletionTimestamp() == nil && ref.Kind != "Namespace" {
			first = append(first, ref)
		}
	}
	for _, pv := range sec.PersistentVolumes {
		if ours(pv.Labels) && pv.DeletionTimestamp == nil {
			second = append(second, observed.ObjectRef{APIVersion: "v1", Kind: "PersistentVolume", Name: pv.Name})
		}
	}
	for _, v := range sec.Volumes {
		if ours(v.Labels) && v.DeletionTimestamp == nil {
			second = append(second, observed.ObjectRef{APIVersion: longhorn.SchemeGroupVersion.String(), Kind: "Volume", Namespace: v.Namespace, Name: v.Name})
		}
	}
	ns := observed.ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: rec.Namespace}
	if u, read := sec.Objects[ns]; read && u != nil && ours(u.GetLabels()) && u.GetDeletionTimestamp() == nil {
		second = append(second, ns)
	}
	stage := first
	if len(stage) == 0 {
		stage = second
	}
	if len(stage) == 0 {
		done := rec.clone()
		done.TornDownAt = d.in.Now
		d.add(recordWrite(d.in, sec.Name, p.Name(), DrillRecordName(p.Name()), done, u.stored.resourceVersion, "drill "+rec.Drill+" torn down"))
		rep.Waiting = "recording the end of the drill's teardown"
		return
	}
	names := make([]string, 0, len(stage))
	for _, ref := range stage {
		d.add(&DeleteObject{Target: Target{sec.Name, p.Name()}, Ref: ref, Labels: want, Reason: "teardown of drill " + rec.Drill})
		names = append(names, ref.String())
	}
	rep.Waiting = "tearing the drill down: deleting " + joinFirst(names, 5)
}

// drillObjectLabels are the labels of every object drill id of plan creates; teardown deletes only
// objects that carry all of them.
func drillObjectLabels(owner, plan, id string) map[string]string {
	return ownedLabels(owner, map[string]string{LabelPlan: plan, LabelDrill: id})
}

// drillUnderWay is a drill a pass deals with: one whose record exists and is not torn down, or
// one its plan asks for.
type drillUnderWay struct {
	plan *plans.Plan
	sec  *observed.State
	// stored is its record, nil before it starts.
	stored storedRecord
	// namespace is the drill's: its record's, else the one the plan asks for.
	namespace string
	// run is the plan as the drill it asks for runs it (drillPlan), with what it leaves out;
	// nil when the plan asks for no drill.
	run         *plans.Plan
	skipped     []string
	scopesKnown bool
	// recorded is the plan as the recorded drill ran it (run, unless the plan now asks for
	// another drill or none): what its teardown reads.
	recorded *plans.Plan
}

// drillOf is the drill of p in its secondary sec, as drillsUnderWay and the decider see it.
func drillOf(p *plans.Plan, sec *observed.State, owner string) (u drillUnderWay, found bool, problem string) {
	stored, found, problem := findRecordNamed(sec, DrillRecordName(p.Name()), p.Name(), owner)
	u = drillUnderWay{plan: p, sec: sec, stored: stored}
	switch {
	case stored.rec != nil:
		u.namespace = stored.rec.Namespace
	case p.Spec.Drill != nil:
		u.namespace = p.Spec.Drill.Namespace
	}
	if p.Spec.Drill != nil {
		u.run, u.skipped, u.scopesKnown = drillPlan(p, sec, owner)
	}
	u.recorded = u.run
	if rec := stored.rec; rec != nil && (p.Spec.Drill == nil || !sameDrill(rec, p.Spec.Drill)) {
		q := p.Clone()
		q.Spec.Drill = &plans.Drill{ID: rec.Drill, Namespace: rec.Namespace}
		u.recorded, _, _ = drillPlan(q, sec, owner)
	}
	return u, found, problem
}

// reads are the objects the drill reads on demand in its secondary: its namespace, and the
// gates (of kinds the caches do not hold, or with CEL) and manifests' objects of the plan as
// the drill runs it there (as the recorded drill ran it, once there is a record).
func (u drillUnderWay) reads() []observed.ObjectRef {
	if u.namespace == "" {
		return nil
	}
	out := []observed.ObjectRef{{APIVersion: "v1", Kind: "Namespace", Name: u.namespace}}
	run := u.run
	if u.stored.rec != nil {
		run = u.recorded
	}
	if run == nil {
		return out
	}
	out = append(out, uncachedClaims(run, "", u.sec)...)
	for _, w := range run.Spec.Waves {
		for _, g := range w.Gates {
			if !cachedKind(g.APIVersion, g.Kind) || g.Current != "" {
				out = append(out, gateRef(g))
			}
		}
		for _, ref := range manifestRefs(run.ManifestsOf(w.Apply)) {
			if !cachedKind(ref.APIVersion, ref.Kind) {
				out = append(out, ref)
			}
		}
	}
	return out
}

// drillsUnderWay are the drills whose records exist and are not torn down, or that a plan asks
// for: what FailoverReads and FailoverGates add for them.
func drillsUnderWay(in Input) []drillUnderWay {
	var out []drillUnderWay
	if in.Plans == nil {
		return out
	}
	for _, p := range in.Plans.Valid() {
		sec := in.Clusters[p.Spec.Secondary]
		if !sec.Observed() {
			continue
		}
		u, found, problem := drillOf(p, sec, in.Owner)
		if problem != "" || (!found && p.Spec.Drill == nil) || (found && !u.stored.rec.TornDownAt.IsZero() && (p.Spec.Drill == nil || sameDrill(u.stored.rec, p.Spec.Drill))) {
			continue
		}
		out = append(out, u)
	}
	return out
}

// DrillPhase is where a drill stands.
type DrillPhase string

// The phases of a drill.
const (
	// DrillStarting: the drill waits to start (a standby has restored nothing) or its record is
	// being written.
	DrillStarting DrillPhase = "starting"
	// DrillRunning: preparing its copies or running its waves.
	DrillRunning DrillPhase = "running"
	// DrillSucceeded: every wave finished; the drill's objects are kept until KeepUntil.
	DrillSucceeded DrillPhase = "succeeded"
	// DrillFailed: a step did not finish in time; kept until KeepUntil for a look.
	DrillFailed DrillPhase = "failed"
	// DrillTearingDown: its objects are being deleted.
	DrillTearingDown DrillPhase = "tearing-down"
	// DrillTornDown: nothing of it is left but its record.
	DrillTornDown DrillPhase = "torn-down"
)

// DrillReport is a plan's drill: the one it asks for, or the last one.
type DrillReport struct {
	ID        string     `json:"id"`
	Namespace string     `json:"namespace"`
	Phase     DrillPhase `json:"phase"`
	// Waiting says what the drill waits for now.
	Waiting    string    `json:"waiting,omitempty"`
	Revision   string    `json:"revision,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// KeepUntil is when a finished drill's objects are torn down.
	KeepUntil  time.Time `json:"keepUntil,omitzero"`
	TornDownAt time.Time `json:"tornDownAt,omitzero"`
	// RTO is what a failover would have taken after catch-up: the waves' time, from the end of
	// prepare to the end of the last wave. Known once the drill succeeded.
	RTO metav1.Duration `json:"rto"`
	// DataLoss is the largest data-loss window of the volumes: what a failover at the drill's
	// start would have lost, had the primary been lost with it.
	DataLoss      metav1.Duration `json:"dataLoss"`
	DataLossKnown bool            `json:"dataLossKnown"`
	// Steps are prepare and the waves, with their durations; Volumes the drill copies, with
	// the backup each restored and its data-loss window.
	Steps   []FailoverStepReport   `json:"steps,omitempty"`
	Volumes []FailoverVolumeReport `json:"volumes,omitempty"`
	Notes   []string               `json:"notes,omitempty"`
}

// fill takes what the record says.
func (r *DrillReport) fill(rec *FailoverRecord) {
	r.ID, r.Namespace, r.Revision = rec.Drill, rec.Namespace, rec.Revision
	r.StartedAt, r.FinishedAt, r.TornDownAt = rec.StartedAt, rec.FinishedAt, rec.TornDownAt
	if prep := rec.step(StepPrepare); prep != nil && !prep.FinishedAt.IsZero() && !rec.FinishedAt.IsZero() && !rec.Failed {
		r.RTO = metav1.Duration{Duration: rec.FinishedAt.Sub(prep.FinishedAt)}
	}
	for _, v := range rec.Volumes {
		if v.DataLossKnown && (!r.DataLossKnown || v.DataLoss.Duration > r.DataLoss.Duration) {
			r.DataLoss, r.DataLossKnown = v.DataLoss, true
		}
	}
	r.Phase = drillPhaseOf(rec)
}

// run takes the run's report of the drill and, once it finished, when it is torn down.
func (r *DrillReport) run(rep *FailoverReport, phase DrillPhase, keepFor time.Duration) {
	r.Phase = phase
	r.Waiting = rep.Waiting
	r.Steps, r.Volumes, r.Notes = rep.Steps, rep.Volumes, rep.Notes
	if !r.FinishedAt.IsZero() {
		r.KeepUntil = r.FinishedAt.Add(keepFor)
	}
}
