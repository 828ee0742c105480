package planner

import (
	"fmt"
	"strconv"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// LonghornCSIDriver is the CSI driver of Longhorn volumes, in the PersistentVolumes failover
// creates.
const LonghornCSIDriver = "driver.longhorn.io"

// wave runs one wave: activate its volumes together, wait until activation settled, create
// the PersistentVolumes and claims, scale its workloads, wait for its gates. Each part starts
// only when the one before is seen done in the clusters.
func (f *failoverRun) wave(w plans.Wave, st *StepRecord, sr *FailoverStepReport) stepResult {
	var vols []plans.Volume
	for _, v := range f.p.Spec.Volumes {
		if v.Wave == w.Name {
			vols = append(vols, v)
		}
	}
	if w.Apply != nil {
		if res, busy := f.applyManifests("wave "+w.Name, f.p.ManifestsOf(w.Apply), st, w.Apply.Timeout.Duration); busy {
			return res
		}
	}
	if res, busy := f.activate(w, vols); busy {
		return res
	}
	if pending, theirs := f.claims(vols); len(theirs) > 0 {
		// A person must act: stalled (a drill fails), and it goes on once the claim is gone.
		return stepResult{stalled: true, waiting: fmt.Sprintf("wave %s: %s", w.Name, joinFirst(theirs, 3))}
	} else if len(pending) > 0 {
		return stepResult{waiting: fmt.Sprintf("wave %s: creating %s", w.Name, joinFirst(pending, 3))}
	}
	if pending := f.scaleUp(w); len(pending) > 0 {
		return stepResult{waiting: fmt.Sprintf("wave %s: %s", w.Name, joinFirst(pending, 3))}
	}
	return f.gates(w, st, sr)
}

// activate activates the wave's standby volumes, all in the same pass, or none while one of
// them may not be: a wave is never half-activated silently. It reports busy until every volume
// of the wave finished activation and was detached by Longhorn.
func (f *failoverRun) activate(w plans.Wave, vols []plans.Volume) (stepResult, bool) {
	allowed, settingErr := longhorn.DegradedActivationAllowed(f.sec.Setting(longhorn.SettingAllowDegradedAvailability))
	var held, settling []string
	var acts []*ActivateVolume
	nextSecond := 0
	for _, v := range vols {
		vol, problem := f.standbyOf(v)
		switch {
		case vol == nil:
			held = append(held, problem)
		case vol.Spec.Standby:
			if why := f.holdActivation(vol, allowed, settingErr); why != "" {
				held = append(held, why)
				continue
			}
			a, wait := f.activation(v, vol, w.Name)
			if wait > 0 {
				// Its backup volume synced in this very second: activate in the next one.
				f.d.requeueAfter(wait)
				nextSecond++
				continue
			}
			acts = append(acts, a)
		case !longhorn.ActivationSettled(vol) && !f.inUse(w, v, vol):
			settling = append(settling, f.activationWait(v, vol, allowed))
		}
	}
	switch {
	case len(held) > 0:
		return stepResult{waiting: fmt.Sprintf("wave %s holds, none of its volumes is activated: %s", w.Name, joinFirst(held, 3))}, true
	case len(acts) > 0:
		for _, a := range acts {
			f.d.add(a)
		}
		return stepResult{waiting: fmt.Sprintf("wave %s: activating %s", w.Name, activating(acts))}, true
	case nextSecond > 0:
		return stepResult{waiting: fmt.Sprintf("wave %s: %d volumes activate in the next second (their backup volumes synced in this one)", w.Name, nextSecond)}, true
	case len(settling) > 0:
		return stepResult{waiting: fmt.Sprintf("wave %s: activation under way: %s", w.Name, joinFirst(settling, 3))}, true
	}
	return stepResult{}, false
}

// inUse reports whether an activated volume was settled already and is now attached by the
// wave's own workloads: once activation finished, the wave creates the volume's PV and claim
// and scales its workloads up, and their pods attach the volume, as a node does before its
// containers start. Waiting for it to be detached again would hold the wave forever.
func (f *failoverRun) inUse(w plans.Wave, v plans.Volume, vol *longhorn.Volume) bool {
	if !longhorn.ActivationFinished(vol) {
		return false
	}
	if v.PV != nil && f.sec.PersistentVolume(v.PV.Name) != nil {
		return true // created only once the volume was settled
	}
	for _, sc := range w.Scale {
		if replicas, found, _ := workloadReplicas(f.sec, sc.APIVersion, sc.Kind, sc.Namespace, sc.Name); found && replicas > 0 {
			return true // scaled up only once every volume of the wave was settled
		}
	}
	return false
}

// holdActivation says why a standby volume must not be activated now, "" when it may: a
// degraded volume needs both the plan's allowDegraded and Longhorn's setting (else Longhorn
// would leave it stuck attached and half-activated), a faulted one never.
func (f *failoverRun) holdActivation(vol *longhorn.Volume, settingAllows bool, settingErr error) string {
	switch vol.Status.Robustness {
	case longhorn.VolumeRobustnessDegraded:
		switch {
		case !f.p.Spec.Activation.AllowDegraded:
			return fmt.Sprintf("volume %s is degraded and the plan does not allow degraded activation (spec.activation.allowDegraded is false)", vol.Name)
		case settingErr != nil:
			return fmt.Sprintf("volume %s is degraded and cluster %s: %v", vol.Name, f.sec.Name, settingErr)
		case !settingAllows:
			return fmt.Sprintf("volume %s is degraded and Longhorn's setting %s is false in cluster %s", vol.Name, longhorn.SettingAllowDegradedAvailability, f.sec.Name)
		}
	case longhorn.VolumeRobustnessFaulted:
		return fmt.Sprintf("volume %s is faulted (every replica failed; Longhorn never activates it): a person must decide whether to fail over without its data; "+
			"to do so, remove its volume from the plan (the faulted standby is kept, untouched) and the wave goes on", vol.Name)
	}
	return ""
}

// activation is the activation of one standby volume, with the BackupVolume sync request
// Longhorn's own activate makes first; wait > 0 when that request must wait for the next second.
func (f *failoverRun) activation(v plans.Volume, vol *longhorn.Volume, wave string) (*ActivateVolume, time.Duration) {
	a := &ActivateVolume{Target: Target{f.sec.Name, f.p.Name()}, Namespace: vol.Namespace, Volume: vol.Name,
		Frontend: longhorn.VolumeFrontendBlockDev, Wave: wave}
	if bv, err := f.sec.BackupVolumeOf(f.p.Spec.BackupTarget, v.Name); err == nil && bv != nil {
		at, wait := SyncStamp(f.now, bv.Status.LastSyncedAt)
		if wait > 0 {
			return nil, wait
		}
		a.BackupVolume, a.SyncAt = bv.Name, at
	}
	return a, 0
}

// activationWait says what an activation that was asked for waits for, in Longhorn's words.
func (f *failoverRun) activationWait(v plans.Volume, vol *longhorn.Volume, settingAllows bool) string {
	view := longhorn.DRView{Volume: vol, Engine: f.sec.ActiveEngine(vol.Name), AllowDegraded: settingAllows}
	if bv, err := f.sec.BackupVolumeOf(f.p.Spec.BackupTarget, v.Name); err == nil && bv != nil {
		view.BackupVolume = bv
		view.LatestBackup = f.sec.Backup(bv.Status.LastBackupName)
	}
	if vol.Status.IsStandby || vol.Status.RestoreRequired {
		if ok, why := longhorn.ActivationGate(view); !ok {
			return why
		}
		return fmt.Sprintf("volume %s: activation gate passed, Longhorn finishes it", vol.Name)
	}
	return fmt.Sprintf("volume %s activated, %s (Longhorn detaches it)", vol.Name, stateOrUnknown(vol.Status.State))
}

// claims creates the PersistentVolumes and claims the plan asks for, once each. It returns the
// ones not seen in the cluster yet.
//
// A claim of that name drplan did not create (read on demand: the caches hold only drplan's) is
// left alone and named in theirs: in a failback, a team's claim bound to the stale volume of the
// old primary would bring the workload up on stale data.
func (f *failoverRun) claims(vols []plans.Volume) (pending, theirs []string) {
	for _, v := range vols {
		if v.PV == nil {
			continue
		}
		vol := f.sec.Volume(v.StandbyName)
		if f.sec.PersistentVolume(v.PV.Name) == nil {
			f.d.add(&CreatePersistentVolume{Target: Target{f.sec.Name, f.p.Name()}, PV: f.desiredPV(v, vol)})
			pending = append(pending, "PersistentVolume "+v.PV.Name)
		}
		if v.PVC != nil && f.sec.PersistentVolumeClaim(v.PVC.Namespace, v.PVC.Name) == nil {
			if u := f.sec.Objects[claimRef(v)]; u != nil && !owned(f.d.in.Owner, u.GetLabels()) {
				bound, _, _ := unstructured.NestedString(u.Object, "spec", "volumeName")
				theirs = append(theirs, fmt.Sprintf("PersistentVolumeClaim %s/%s exists in cluster %s and drplan did not create it (bound to %q): "+
					"drplan does not touch it; delete it, or name another claim in spec.volumes[].pvc", v.PVC.Namespace, v.PVC.Name, f.sec.Name, bound))
				continue
			}
			f.d.add(&CreatePersistentVolumeClaim{Target: Target{f.sec.Name, f.p.Name()}, PVC: f.desiredPVC(v, vol)})
			pending = append(pending, fmt.Sprintf("PersistentVolumeClaim %s/%s", v.PVC.Namespace, v.PVC.Name))
		}
	}
	return pending, theirs
}

// claimRef is the ref of volume v's claim (v.PVC set).
func claimRef(v plans.Volume) observed.ObjectRef {
	return observed.ObjectRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: v.PVC.Namespace, Name: v.PVC.Name}
}

// uncachedClaims are the claims of p's volumes in wave (every wave when empty) that are not in
// s's cache, which holds only drplan's: read on demand, so that a claim drplan did not create is
// seen before drplan would create its own.
func uncachedClaims(p *plans.Plan, wave string, s *observed.State) []observed.ObjectRef {
	var out []observed.ObjectRef
	for _, v := range p.Spec.Volumes {
		if v.PVC != nil && v.PV != nil && (wave == "" || v.Wave == wave) && s.PersistentVolumeClaim(v.PVC.Namespace, v.PVC.Name) == nil {
			out = append(out, claimRef(v))
		}
	}
	return out
}

// desiredPV is Longhorn's PV shape for an activated volume (REFERENCE §9 note 3), pre-bound to
// the plan's claim when there is one.
func (f *failoverRun) desiredPV(v plans.Volume, vol *longhorn.Volume) *corev1.PersistentVolume {
	mode := corev1.PersistentVolumeFilesystem
	pv := &corev1.PersistentVolume{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolume"}}
	pv.Name = v.PV.Name
	pv.Labels = f.labels(map[string]string{LabelSourceVolume: v.Name})
	pv.Spec = corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: *resource.NewQuantity(vol.Spec.Size, resource.BinarySI)},
		AccessModes:                   accessModes(v.PV.AccessModes),
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		VolumeMode:                    &mode,
		StorageClassName:              v.PV.StorageClassName,
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
			Driver: LonghornCSIDriver, FSType: v.PV.FSType, VolumeHandle: vol.Name,
			VolumeAttributes: map[string]string{
				"diskSelector": "", "nodeSelector": "",
				"numberOfReplicas": strconv.Itoa(vol.Spec.NumberOfReplicas), "staleReplicaTimeout": "30",
			},
		}},
	}
	if v.PVC != nil {
		pv.Spec.ClaimRef = &corev1.ObjectReference{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: v.PVC.Namespace, Name: v.PVC.Name}
	}
	return pv
}

// desiredPVC is the claim bound by volumeName to the activated volume's PersistentVolume.
func (f *failoverRun) desiredPVC(v plans.Volume, vol *longhorn.Volume) *corev1.PersistentVolumeClaim {
	mode := corev1.PersistentVolumeFilesystem
	sc := v.PV.StorageClassName
	pvc := &corev1.PersistentVolumeClaim{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"}}
	pvc.Name, pvc.Namespace = v.PVC.Name, v.PVC.Namespace
	pvc.Labels = f.labels(map[string]string{LabelSourceVolume: v.Name})
	pvc.Spec = corev1.PersistentVolumeClaimSpec{
		AccessModes: accessModes(v.PV.AccessModes),
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceStorage: *resource.NewQuantity(vol.Spec.Size, resource.BinarySI),
		}},
		StorageClassName: &sc,
		VolumeName:       v.PV.Name,
		VolumeMode:       &mode,
	}
	return pvc
}

func accessModes(in []plans.AccessMode) []corev1.PersistentVolumeAccessMode {
	out := make([]corev1.PersistentVolumeAccessMode, len(in))
	for i, m := range in {
		out[i] = corev1.PersistentVolumeAccessMode(m)
	}
	return out
}

// scaleUp scales the wave's workloads in the secondary. It returns what is not seen scaled yet.
func (f *failoverRun) scaleUp(w plans.Wave) []string {
	var pending []string
	for _, sc := range w.Scale {
		scale := &ScaleWorkload{Target: Target{f.sec.Name, f.p.Name()}, APIVersion: sc.APIVersion, Kind: sc.Kind,
			Namespace: sc.Namespace, Name: sc.Name, Replicas: sc.Replicas, Reason: f.kind() + " wave " + w.Name}
		replicas, found, cached := workloadReplicas(f.sec, sc.APIVersion, sc.Kind, sc.Namespace, sc.Name)
		switch {
		case !cached:
			// Not observed: scaling is idempotent, so it is asked for on every pass of the wave.
			f.d.add(scale)
		case !found:
			pending = append(pending, fmt.Sprintf("%s %s/%s to scale is not in cluster %s", sc.Kind, sc.Namespace, sc.Name, f.sec.Name))
		case replicas != sc.Replicas:
			f.d.add(scale)
			pending = append(pending, fmt.Sprintf("scaling %s %s/%s to %d", sc.Kind, sc.Namespace, sc.Name, sc.Replicas))
		}
	}
	return pending
}

// gates evaluates the wave's readiness gates with kstatus. A gate not ready within its timeout
// (counted from the wave's start) stalls the failover there: it resumes when the gate turns
// ready or a commit changes the plan.
func (f *failoverRun) gates(w plans.Wave, st *StepRecord, sr *FailoverStepReport) stepResult {
	var notReady, timedOut []string
	for _, g := range w.Gates {
		gr := GateReport{Kind: g.Kind, Namespace: g.Namespace, Name: g.Name, Timeout: metav1.Duration{Duration: g.Timeout.Duration}}
		gr.Ready, gr.Message = f.gateReady(g)
		ref := observed.ObjectRef{APIVersion: g.APIVersion, Kind: g.Kind, Namespace: g.Namespace, Name: g.Name}
		if !gr.Ready {
			desc := fmt.Sprintf("gate %s: %s", ref, gr.Message)
			notReady = append(notReady, desc)
			if f.now.Sub(st.StartedAt) >= g.Timeout.Duration {
				gr.TimedOut = true
				timedOut = append(timedOut, fmt.Sprintf("gate %s not ready after %s (%s)", ref, g.Timeout.Duration, gr.Message))
			}
		}
		sr.Gates = append(sr.Gates, gr)
	}
	switch {
	case len(timedOut) > 0:
		return stepResult{stalled: true, waiting: fmt.Sprintf("wave %s: %s; the failover stops here until the gate turns ready or a commit changes the plan", w.Name, joinFirst(timedOut, 3))}
	case len(notReady) > 0:
		return stepResult{waiting: fmt.Sprintf("wave %s waits for its gates: %s", w.Name, joinFirst(notReady, 3))}
	}
	return stepResult{done: true}
}

// gateRef is the object a gate reads.
func gateRef(g plans.Gate) observed.ObjectRef {
	return observed.ObjectRef{APIVersion: g.APIVersion, Kind: g.Kind, Namespace: g.Namespace, Name: g.Name}
}

// CELGateKey is how the agent files a CEL gate's result (observed.State.GateResults).
func CELGateKey(g plans.Gate) observed.GateKey {
	return observed.GateKey{Ref: gateRef(g), Current: g.Current, Failed: g.Failed, InProgress: g.InProgress}
}

// gateReady evaluates one gate with kstatus, or with its CEL expressions: ready when Current.
func (f *failoverRun) gateReady(g plans.Gate) (bool, string) {
	if g.Job != nil {
		return f.jobGate(g)
	}
	obj, why := gateObject(f.sec, gateRef(g))
	if obj == nil {
		return false, why
	}
	if g.Current != "" {
		res, ok := f.sec.GateResults[CELGateKey(g)]
		switch {
		case !ok:
			return false, "CEL expressions not evaluated yet"
		case res.Message != "":
			return false, "CEL: " + res.Message
		case res.Status != string(status.CurrentStatus):
			return false, fmt.Sprintf("%s (CEL)", res.Status)
		}
		return true, "current: " + g.Current
	}
	res, err := status.Compute(obj)
	if err != nil {
		return false, fmt.Sprintf("kstatus: %v", err)
	}
	if res.Status != status.CurrentStatus {
		return false, fmt.Sprintf("%s: %s", res.Status, res.Message)
	}
	return true, res.Message
}

// gateObject finds a gate's object: Deployments and StatefulSets in the cache, other kinds in
// the objects read for this pass (State.Objects).
func gateObject(s *observed.State, ref observed.ObjectRef) (*unstructured.Unstructured, string) {
	if cachedKind(ref.APIVersion, ref.Kind) {
		obj := cachedWorkload(s, ref.Kind, ref.Namespace, ref.Name)
		if obj == nil {
			return nil, fmt.Sprintf("not found in cluster %s", s.Name)
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, fmt.Sprintf("convert: %v", err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetAPIVersion(ref.APIVersion)
		u.SetKind(ref.Kind)
		return u, ""
	}
	u, read := s.Objects[ref]
	switch {
	case !read:
		return nil, fmt.Sprintf("not read from cluster %s yet", s.Name)
	case u == nil:
		return nil, fmt.Sprintf("not found in cluster %s", s.Name)
	}
	return u, ""
}

// cachedKind reports whether the cluster cache holds the kind (see internal/cluster).
func cachedKind(apiVersion, kind string) bool {
	return apiVersion == "apps/v1" && (kind == "Deployment" || kind == "StatefulSet")
}

// cachedWorkload returns the cached Deployment or StatefulSet, or nil (never a typed nil).
func cachedWorkload(s *observed.State, kind, ns, name string) runtime.Object {
	switch kind {
	case "Deployment":
		if d := s.Deployment(ns, name); d != nil {
			return d
		}
	case "StatefulSet":
		if st := s.StatefulSet(ns, name); st != nil {
			return st
		}
	}
	return nil
}

// workloadReplicas reads spec.replicas of a cached workload; cached is false for a kind the
// cache does not hold.
func workloadReplicas(s *observed.State, apiVersion, kind, ns, name string) (replicas int32, found, cached bool) {
	if !cachedKind(apiVersion, kind) {
		return 0, false, false
	}
	var spec *int32
	switch obj := cachedWorkload(s, kind, ns, name).(type) {
	case *appsv1.Deployment:
		spec = obj.Spec.Replicas
	case *appsv1.StatefulSet:
		spec = obj.Spec.Replicas
	default:
		return 0, false, true
	}
	if spec == nil {
		return 1, true, true
	}
	return *spec, true, true
}

// FailoverGates are the gates of the waves under way of every failover in progress, by the
// cluster they are read in: what the agent reads and evaluates before deciding.
func FailoverGates(in Input) map[string][]plans.Gate {
	out := map[string][]plans.Gate{}
	for _, u := range stepsUnderWay(in) {
		if u.wave != nil {
			out[u.cluster] = append(out[u.cluster], u.wave.Gates...)
		}
	}
	for _, u := range drillsUnderWay(in) {
		if u.run == nil {
			continue
		}
		for _, w := range u.run.Spec.Waves {
			out[u.sec.Name] = append(out[u.sec.Name], w.Gates...)
		}
	}
	return out
}

// FailoverReads are the objects the agent reads on demand before deciding, by cluster: the
// gates of FailoverGates whose kind the caches do not hold, every CEL gate's object (the
// expressions see all of it), and the manifests of the steps under way.
func FailoverReads(in Input) map[string][]observed.ObjectRef {
	out := map[string][]observed.ObjectRef{}
	for _, u := range stepsUnderWay(in) {
		var ms []plans.Manifest
		if u.wave != nil {
			for _, g := range u.wave.Gates {
				if !cachedKind(g.APIVersion, g.Kind) || g.Current != "" {
					out[u.cluster] = append(out[u.cluster], gateRef(g))
				}
			}
			ms = u.plan.ManifestsOf(u.wave.Apply)
			if refs := uncachedClaims(u.plan, u.wave.Name, in.Clusters[u.cluster]); len(refs) > 0 {
				out[u.cluster] = append(out[u.cluster], refs...)
			}
		} else {
			ms = u.plan.ManifestsOf(u.plan.Spec.Traffic)
		}
		for _, ref := range manifestRefs(ms) {
			if !cachedKind(ref.APIVersion, ref.Kind) {
				out[u.cluster] = append(out[u.cluster], ref)
			}
		}
	}
	for _, u := range drillsUnderWay(in) {
		out[u.sec.Name] = append(out[u.sec.Name], u.reads()...)
	}
	return out
}

// stepUnderWay is a wave (wave set) or the traffic step (wave nil) a failover in progress runs.
type stepUnderWay struct {
	cluster string
	plan    *plans.Plan
	wave    *plans.Wave
}

// stepsUnderWay are the waves and traffic steps started and not finished of every failover in
// progress, as their records in the secondaries show.
func stepsUnderWay(in Input) []stepUnderWay {
	var out []stepUnderWay
	if in.Plans == nil {
		return out
	}
	for _, p := range in.Plans.Valid() {
		sec := in.Clusters[p.Spec.Secondary]
		if !p.Spec.Failover || !sec.Observed() {
			continue
		}
		stored, found, problem, _ := ownRecord(sec, p, in.Owner)
		if !found || problem != "" || !stored.rec.FinishedAt.IsZero() {
			continue
		}
		for i := range p.Spec.Waves {
			if st := stored.rec.step(WaveStep(p.Spec.Waves[i].Name)); st != nil && st.FinishedAt.IsZero() {
				out = append(out, stepUnderWay{cluster: sec.Name, plan: p, wave: &p.Spec.Waves[i]})
			}
		}
		if st := stored.rec.step(StepTraffic); st != nil && st.FinishedAt.IsZero() && p.Spec.Traffic != nil {
			out = append(out, stepUnderWay{cluster: sec.Name, plan: p})
		}
	}
	return out
}

func activating(acts []*ActivateVolume) string {
	names := make([]string, len(acts))
	for i, a := range acts {
		names[i] = a.Volume
	}
	return joinFirst(names, 5)
}
