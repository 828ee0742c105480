package longhornsim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/drplan/drplan/internal/longhorn"
)

// Engine instance states (Engine.status.currentState).
const (
	instanceRunning = "running"
	instanceStopped = "stopped"
)

// waitRequeue is how often a volume waiting on the activation gate looks again, besides the
// events that wake it.
const waitRequeue = 2 * time.Second

// reconcileVolume is the volume controller (REFERENCE §1.6, §1.7, §1.2, §2.1, §10) for what
// drplan observes:
//   - the recurring-job labels: synced from the volume's PVC when it asks for it, and the
//     default group (updateRecurringJobs, see recurringjob_labels.go);
//   - restore init of a volume created from a backup (checkAndInitVolumeRestore): isStandby,
//     restoreRequired, restoreInitiated, actualSize;
//   - status.lastBackup/lastBackupAt from the BackupVolume (ReconcileBackupVolumeState): the
//     one named by the backup-volume label while restoring, the volume's own name after;
//   - the engine's requestedBackupRestore follows status.lastBackup for a standby volume
//     (updateRequestedBackupForVolumeRestore);
//   - replicas that report a restore error are failed (ReconcileEngineReplicaState), and
//     robustness follows the replicas (AnnotationFailedReplicas); a faulted restore or DR
//     volume is never salvaged;
//   - attach while restoring (the restore controller's attachment, frontend disabled), when
//     spec.nodeID is set or while a Snapshot or Backup holds an attachment ticket, detach
//     otherwise, with Latencies.Attach/Detach; the Restore condition;
//   - the incremental restore (engine monitor) after checkSizeBeforeRestoration, see
//     restore.go and restore_fault.go;
//   - the activation gate (checkAndFinishVolumeRestore, gate.go) and then detached.
func (s *Sim) reconcileVolume(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if s.paused.Load() {
		return ctrl.Result{RequeueAfter: pausedRequeue}, nil
	}
	c := s.mgr.GetClient()
	var v longhorn.Volume
	if err := c.Get(ctx, req.NamespacedName, &v); err != nil {
		if apierrors.IsNotFound(err) {
			s.forgetVolume(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get volume %s in cluster %s: %w", req.Name, s.opts.Cluster, err)
	}
	if v.DeletionTimestamp != nil {
		return ctrl.Result{}, s.finalizeVolume(ctx, &v)
	}
	pvc, err := s.syncKubernetesStatus(ctx, &v)
	if err != nil {
		return ctrl.Result{}, err
	}
	if s.fixupVolumeMetadata(ctx, &v, pvc) {
		return ctrl.Result{}, nil
	}
	eng, err := s.ensureEngine(ctx, &v)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := s.opts.Clock.Now()
	orig, origEng := v.DeepCopy(), eng.DeepCopy()
	notes := map[string]string{}
	result := ctrl.Result{}

	if err := s.initRestore(ctx, &v, notes); err != nil {
		return ctrl.Result{}, err
	}
	if err := s.syncLastBackup(ctx, &v); err != nil {
		return ctrl.Result{}, err
	}
	if v.Spec.FromBackup != "" && v.Status.RestoreRequired {
		if v.Status.IsStandby {
			if v.Status.LastBackup != "" && v.Status.LastBackup != eng.Spec.RequestedBackupRestore {
				eng.Spec.RequestedBackupRestore = v.Status.LastBackup
			}
		} else if u, err := longhorn.ParseBackupURL(v.Spec.FromBackup); err == nil && u.BackupName != "" {
			eng.Spec.RequestedBackupRestore = u.BackupName
		}
	}

	failed := failedReplicas(&v)
	if n := s.replicasFailedByRestore(&v, eng, failed); n > failed {
		failed = n
		notes[AnnotationFailedReplicas] = strconv.Itoa(n)
	}
	faulted := failed >= max(v.Spec.NumberOfReplicas, 1)
	wantAttached := !faulted && (v.Status.RestoreRequired || v.Spec.NodeID != "" || s.hasTickets(v.Name))
	if wait := s.stepAttachment(&v, wantAttached, now, notes); wait > 0 {
		result.RequeueAfter = wait
	}
	attached := v.Status.State == longhorn.VolumeStateAttached
	s.applyReplicas(&v, eng, failed, attached, now)

	switch {
	case attached && eng.Status.CurrentState == instanceRunning && eng.Spec.RequestedBackupRestore != "" && v.Status.RestoreRequired:
		v.Status.Conditions = setCondition(v.Status.Conditions, longhorn.VolumeConditionTypeRestore,
			longhorn.ConditionStatusTrue, longhorn.VolumeConditionReasonRestoreInProgress, "", now)
	case faulted && (v.Status.RestoreRequired || v.Status.IsStandby):
		v.Status.Conditions = setCondition(v.Status.Conditions, longhorn.VolumeConditionTypeRestore,
			longhorn.ConditionStatusFalse, longhorn.VolumeConditionReasonRestoreFailure, "All replica restore failed and the volume became Faulted", now)
	case !attached || !v.Status.RestoreRequired:
		if longhorn.FindCondition(v.Status.Conditions, longhorn.VolumeConditionTypeRestore) != nil || v.Spec.FromBackup != "" {
			v.Status.Conditions = setCondition(v.Status.Conditions, longhorn.VolumeConditionTypeRestore, longhorn.ConditionStatusFalse, "", "", now)
		}
	}

	if restoreErrored(eng) {
		s.dropFailedRestore(v.Name)
	}
	if attached && v.Status.RestoreRequired && eng.Spec.RequestedBackupRestore != "" &&
		eng.Spec.RequestedBackupRestore != eng.Status.LastRestoredBackup && !restoreErrored(eng) && !s.restoring(v.Name) {
		switch ok, err := s.checkSizeBeforeRestoration(ctx, &v, eng); {
		case err != nil:
			s.log.Info("pre-restore check failed", "volume", v.Name, "error", err.Error())
			failPreRestoreCheck(eng, err)
		case ok:
			s.startRestore(&v, eng)
		}
	}

	if !v.Spec.Standby && v.Status.IsStandby && v.Annotations[AnnotationActivationRequestedAt] == "" {
		notes[AnnotationActivationRequestedAt] = s.stamp()
		s.log.Info("activation requested", "volume", v.Name, "frontend", v.Spec.Frontend)
	}
	var gateErr error
	if v.Spec.FromBackup != "" && v.Status.RestoreRequired {
		finish, why, err := s.gate(ctx, &v, eng)
		switch {
		case err != nil:
			gateErr = fmt.Errorf("check restore of volume %s in cluster %s: %w", v.Name, s.opts.Cluster, err)
		case finish:
			s.log.Info("Restore/DR volume finished with the last restored backup", "volume", v.Name, "backup", eng.Status.LastRestoredBackup)
			v.Status.IsStandby = false
			v.Status.RestoreRequired = false
			notes[AnnotationActivationFinishedAt] = s.stamp()
			result.RequeueAfter = time.Millisecond
		case !v.Spec.Standby:
			s.log.V(1).Info("activation waits", "volume", v.Name, "reason", why)
			if result.RequeueAfter == 0 {
				result.RequeueAfter = waitRequeue
			}
		}
	}
	// Longhorn writes what the sync changed even when it fails (syncVolume's deferred update).
	if err := s.writeVolume(ctx, &v, orig, eng, origEng, notes); err != nil {
		return ctrl.Result{}, errors.Join(err, gateErr)
	}
	return result, gateErr
}

// gate gathers the inputs of checkAndFinishVolumeRestore and evaluates the simulator's port of
// it (gate.go).
func (s *Sim) gate(ctx context.Context, v *longhorn.Volume, e *longhorn.Engine) (bool, string, error) {
	g, err := s.gatherRestoreGate(ctx, v, e)
	if err != nil {
		return false, "", err
	}
	return finishRestore(g)
}

// writeVolume writes what the reconcile changed: annotations first (a reader that sees the new
// status finds the record), then the engine, then the volume's status.
func (s *Sim) writeVolume(ctx context.Context, v, orig *longhorn.Volume, eng, origEng *longhorn.Engine, notes map[string]string) error {
	if len(notes) > 0 {
		if err := s.annotate(ctx, v.Name, notes); err != nil {
			return err
		}
	}
	c := s.mgr.GetClient()
	engStatus := eng.Status
	if !equalJSON(eng.Spec, origEng.Spec) {
		if err := c.Patch(ctx, eng, client.MergeFrom(origEng)); err != nil {
			return fmt.Errorf("update engine %s in cluster %s: %w", eng.Name, s.opts.Cluster, err)
		}
	}
	eng.Status = engStatus
	if !equalJSON(eng.Status, origEng.Status) {
		base := eng.DeepCopy()
		base.Status = origEng.Status
		if err := c.Status().Patch(ctx, eng, client.MergeFrom(base)); err != nil {
			return fmt.Errorf("update status of engine %s in cluster %s: %w", eng.Name, s.opts.Cluster, err)
		}
	}
	if !equalJSON(v.Status, orig.Status) {
		if err := c.Status().Patch(ctx, v, client.MergeFrom(orig)); err != nil {
			return fmt.Errorf("update status of volume %s in cluster %s: %w", v.Name, s.opts.Cluster, err)
		}
	}
	return nil
}

// ensureEngine returns the volume's engine, creating "<volume>-e-0" when missing. A volume from
// a backup gets spec.backupVolume and spec.requestedBackupRestore from its fromBackup
// (REFERENCE §1.6 step 2).
func (s *Sim) ensureEngine(ctx context.Context, v *longhorn.Volume) (*longhorn.Engine, error) {
	name := longhorn.EngineName(v.Name)
	var e longhorn.Engine
	err := s.mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: name}, &e)
	if err == nil {
		return &e, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get engine %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	e = longhorn.Engine{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: s.opts.Namespace,
			Labels:          map[string]string{longhorn.LabelLonghornVolume: v.Name},
			OwnerReferences: []metav1.OwnerReference{ownerRef("Volume", v.Name, v.UID)},
		},
		Spec: longhorn.EngineSpec{
			VolumeName: v.Name, VolumeSize: v.Spec.Size, Active: true,
			Frontend: v.Spec.Frontend, DataEngine: longhorn.DataEngineV1,
		},
	}
	if v.Spec.FromBackup != "" {
		if u, err := longhorn.ParseBackupURL(v.Spec.FromBackup); err == nil {
			e.Spec.BackupVolume = longhorn.BackupVolumeName(u.VolumeName, v.Spec.BackupTargetName)
			e.Spec.RequestedBackupRestore = u.BackupName
		}
	}
	if err := s.api.Create(ctx, &e); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create engine %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	return &e, nil
}

// initRestore is checkAndInitVolumeRestore (REFERENCE §1.6 step 1). It waits, with an error
// and a retry, while the Backup CR is missing.
func (s *Sim) initRestore(ctx context.Context, v *longhorn.Volume, notes map[string]string) error {
	if v.Spec.FromBackup == "" || v.Status.RestoreInitiated {
		return nil
	}
	u, err := longhorn.ParseBackupURL(v.Spec.FromBackup)
	if err != nil {
		return fmt.Errorf("failed to get backup name from backup URL %v: %w", v.Spec.FromBackup, err)
	}
	var b longhorn.Backup
	if err := s.mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: u.BackupName}, &b); err != nil {
		return fmt.Errorf("failed to inspect the backup config %v: %w", v.Spec.FromBackup, err)
	}
	size, err := convertSize(b.Status.Size)
	if err != nil {
		return fmt.Errorf("failed to get the size of backup %v: %w", v.Spec.FromBackup, err)
	}
	v.Status.ActualSize = size
	v.Status.IsStandby = v.Spec.Standby
	v.Status.RestoreRequired = true
	v.Status.RestoreInitiated = true
	notes[AnnotationRestoreInitiatedAt] = s.stamp()
	s.log.Info("restore initiated", "volume", v.Name, "fromBackup", v.Spec.FromBackup, "standby", v.Spec.Standby)
	return nil
}

// syncLastBackup is ReconcileBackupVolumeState (REFERENCE §2.1).
func (s *Sim) syncLastBackup(ctx context.Context, v *longhorn.Volume) error {
	name := v.Name
	if v.Status.RestoreRequired {
		var ok bool
		if name, ok = v.Labels[longhorn.LabelBackupVolume]; !ok {
			return nil
		}
	}
	if v.Spec.BackupTargetName == "" {
		return nil
	}
	bv, err := s.findBackupVolume(ctx, s.mgr.GetClient(), v.Spec.BackupTargetName, name)
	if err != nil {
		return fmt.Errorf("failed to get backup volume %s for backup target %v and volume %v: %w", name, v.Spec.BackupTargetName, v.Name, err)
	}
	if bv == nil || bv.DeletionTimestamp != nil {
		v.Status.LastBackup, v.Status.LastBackupAt = "", longhorn.Timestamp{}
		return nil
	}
	v.Status.LastBackup, v.Status.LastBackupAt = bv.Status.LastBackupName, bv.Status.LastBackupAt
	return nil
}

// stepAttachment moves status.state one step towards attached or detached, taking
// Latencies.Attach and Latencies.Detach; it returns how long to wait before the next step.
func (s *Sim) stepAttachment(v *longhorn.Volume, want bool, now time.Time, notes map[string]string) time.Duration {
	lat := s.currentLatencies()
	since := func() time.Time {
		s.mu.Lock()
		defer s.mu.Unlock()
		t, ok := s.transitions[v.Name]
		if !ok {
			t = now
			s.transitions[v.Name] = t
		}
		return t
	}
	begin := func(state longhorn.VolumeState) {
		s.mu.Lock()
		s.transitions[v.Name] = now
		s.mu.Unlock()
		v.Status.State = state
	}
	switch v.Status.State {
	case "", longhorn.VolumeStateCreating:
		if want {
			begin(longhorn.VolumeStateAttaching)
			return max(lat.Attach, time.Millisecond)
		}
		v.Status.State = longhorn.VolumeStateDetached
	case longhorn.VolumeStateDetached:
		if want {
			begin(longhorn.VolumeStateAttaching)
			return max(lat.Attach, time.Millisecond)
		}
	case longhorn.VolumeStateAttaching:
		if !want {
			begin(longhorn.VolumeStateDetaching)
			return max(lat.Detach, time.Millisecond)
		}
		if rest := lat.Attach - now.Sub(since()); rest > 0 {
			return rest
		}
		v.Status.State = longhorn.VolumeStateAttached
	case longhorn.VolumeStateAttached:
		if !want {
			begin(longhorn.VolumeStateDetaching)
			return max(lat.Detach, time.Millisecond)
		}
	case longhorn.VolumeStateDetaching:
		if want {
			begin(longhorn.VolumeStateAttaching)
			return max(lat.Attach, time.Millisecond)
		}
		if rest := lat.Detach - now.Sub(since()); rest > 0 {
			return rest
		}
		v.Status.State = longhorn.VolumeStateDetached
		notes[AnnotationDetachedAt] = s.stamp()
	}
	return 0
}

// applyReplicas sets the volume's robustness, node and frontend fields and the engine's
// instance state, node and replica modes from the simulated replicas: numberOfReplicas of
// them, the last `failed` in ERR mode.
func (s *Sim) applyReplicas(v *longhorn.Volume, e *longhorn.Engine, failed int, attached bool, now time.Time) {
	wanted := max(v.Spec.NumberOfReplicas, 1)
	r := robustness(wanted, failed, attached)
	if r == longhorn.VolumeRobustnessDegraded && v.Status.Robustness != longhorn.VolumeRobustnessDegraded {
		v.Status.LastDegradedAt = longhorn.NewTimestamp(now)
	}
	v.Status.Robustness = r
	v.Status.OwnerID = s.node
	modes := replicaModes(v.Name, wanted, failed)
	e.Status.OwnerID = s.node
	e.Spec.Frontend = v.Spec.Frontend
	e.Spec.VolumeSize = v.Spec.Size
	if attached {
		node := v.Spec.NodeID
		if node == "" {
			node = s.node
		}
		v.Status.CurrentNodeID = node
		v.Status.FrontendDisabled = v.Status.RestoreRequired
		e.Spec.NodeID = node
		e.Spec.DisableFrontend = v.Status.RestoreRequired
		e.Status.CurrentState = instanceRunning
		e.Status.CurrentSize = v.Spec.Size
		e.Status.ReplicaModeMap = modes
	} else {
		v.Status.CurrentNodeID = ""
		v.Status.FrontendDisabled = false
		e.Spec.NodeID = ""
		e.Spec.DisableFrontend = false
		e.Status.CurrentState = instanceStopped
		e.Status.ReplicaModeMap = nil
	}
}

func replicaName(volume string, i int) string {
	return volume + "-r-" + strconv.Itoa(i)
}

// finalizeVolume is syncVolume's deletion: status.state deleting, then it stops the volume's
// restore, deletes its engine, data and Snapshot CRs, and drops the finalizer. Dropping the
// finalizer is an update the admission webhooks see: for a standby volume whose fromBackup
// Backup CR is gone they deny it, and the volume stays in deletion (REFERENCE §10.3).
func (s *Sim) finalizeVolume(ctx context.Context, v *longhorn.Volume) error {
	if v.Status.State != longhorn.VolumeStateDeleting {
		orig := v.DeepCopy()
		v.Status.State = longhorn.VolumeStateDeleting
		if err := s.mgr.GetClient().Status().Patch(ctx, v, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("update status of volume %s in cluster %s: %w", v.Name, s.opts.Cluster, err)
		}
	}
	s.forgetVolume(v.Name)
	e := &longhorn.Engine{}
	e.Name, e.Namespace = longhorn.EngineName(v.Name), s.opts.Namespace
	if err := s.api.Delete(ctx, e); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete engine %s in cluster %s: %w", e.Name, s.opts.Cluster, err)
	}
	if err := s.data.remove(v.Name); err != nil {
		return err
	}
	if err := s.deleteVolumeSnapshots(ctx, v.Name); err != nil {
		return err
	}
	if !controllerutil.ContainsFinalizer(v, finalizer) {
		return nil
	}
	patch := client.MergeFrom(v.DeepCopy())
	controllerutil.RemoveFinalizer(v, finalizer)
	if err := s.api.Patch(ctx, v, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of volume %s in cluster %s: %w", v.Name, s.opts.Cluster, err)
	}
	return nil
}

// forgetVolume drops the simulator's in-memory state of a volume.
func (s *Sim) forgetVolume(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.restores[name]; r != nil {
		r.cancel()
		delete(s.restores, name)
	}
	delete(s.transitions, name)
	delete(s.restoreFaults, name)
	delete(s.tickets, name)
	delete(s.kubeStatus, name)
}
