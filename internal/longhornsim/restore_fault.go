package longhornsim

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

// How a restore fails (REFERENCE §10.1, §10.2): the engine reports the error of each replica in
// its restoreStatus (engine_controller.go restoreBackup, handleRestoreError, or
// preRestoreCheckAndSync's own check), no new restore starts while an error is there
// (syncWithRestoreStatus), and the volume controller marks those replicas failed
// (ReconcileEngineReplicaState). With every replica failed the volume is faulted; a restore or
// DR volume is never auto-salvaged (ReconcileVolumeState), so it stays faulted and never passes
// checkAndFinishVolumeRestore again.

// restoreStateError is the engine's restoreStatus state of a failed restore.
const restoreStateError = "error"

// rwReplicas returns the engine's replicas in RW mode, sorted.
func rwReplicas(e *longhorn.Engine) []string {
	var out []string
	for r, mode := range e.Status.ReplicaModeMap {
		if mode == longhorn.ReplicaModeRW {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// restoreErrored reports whether a replica reports a restore error: syncWithRestoreStatus then
// starts no restore ("Waiting for the restore error handling before the restore invocation").
func restoreErrored(e *longhorn.Engine) bool {
	for _, st := range e.Status.RestoreStatus {
		if st != nil && st.Error != "" {
			return true
		}
	}
	return false
}

// replicasFailedByRestore is ReconcileEngineReplicaState for restore errors: each replica whose
// restore status carries an error is marked failed (Longhorn's event "replica %v failed the
// restore: %s"). The simulator restores on every RW replica at once and they all report the
// same error, so with those failed before, every replica is: it returns the number of failed
// replicas afterwards, which does not depend on how fresh the caller's view of the volume is.
func (s *Sim) replicasFailedByRestore(v *longhorn.Volume, e *longhorn.Engine, failed int) int {
	errored := false
	for _, r := range rwReplicas(e) {
		if st := e.Status.RestoreStatus[r]; st != nil && st.Error != "" {
			s.log.Info(fmt.Sprintf("replica %v failed the restore: %s", r, st.Error), "volume", v.Name)
		}
	}
	for _, st := range e.Status.RestoreStatus {
		errored = errored || (st != nil && st.Error != "")
	}
	if !errored {
		return failed
	}
	return max(v.Spec.NumberOfReplicas, 1)
}

// checkSizeBeforeRestoration is the engine monitor's function of that name (REFERENCE §1.6 step
// 5, §10.2), run before each restore: it waits while the engine's BackupVolume has no size,
// fails when the backup volume is smaller than the volume, and grows spec.size through the API
// (so through the admission webhooks, which deny it for a standby whose fromBackup Backup CR is
// gone) when it is larger, restoring only on a later pass. ok means restore now.
func (s *Sim) checkSizeBeforeRestoration(ctx context.Context, v *longhorn.Volume, e *longhorn.Engine) (ok bool, err error) {
	var bv longhorn.BackupVolume
	if err := s.mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: e.Spec.BackupVolume}, &bv); err != nil {
		if apierrors.IsNotFound(err) {
			err = apierrors.NewNotFound(groupResource("backupvolume"), e.Spec.BackupVolume)
		}
		return false, err
	}
	if bv.Status.Size == "" {
		return false, nil
	}
	bvSize, err := strconv.ParseInt(bv.Status.Size, 10, 64)
	if err != nil {
		return false, err
	}
	switch {
	case bvSize < v.Spec.Size:
		return false, fmt.Errorf("engine monitor: the backup volume size %v is smaller than the size %v of the DR volume %v", bvSize, e.Spec.VolumeSize, v.Name)
	case bvSize > v.Spec.Size:
		s.log.Info(fmt.Sprintf("Preparing to expand the DR volume size from %v to %v", v.Spec.Size, bvSize), "volume", v.Name)
		patch := fmt.Sprintf(`{"spec":{"size":%q}}`, strconv.FormatInt(bvSize, 10))
		cur := &longhorn.Volume{}
		cur.Name, cur.Namespace = v.Name, v.Namespace
		if err := s.api.Patch(ctx, cur, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// failPreRestoreCheck is preRestoreCheckAndSync's handling of its own errors: the wrapped error
// goes into the restore status of every replica (here those in RW mode), in e's status.
func failPreRestoreCheck(e *longhorn.Engine, err error) {
	msg := fmt.Sprintf("failed pre-restore check for engine %v: %v", e.Name, err)
	if e.Status.RestoreStatus == nil {
		e.Status.RestoreStatus = map[string]*longhorn.RestoreStatus{}
	}
	for _, r := range rwReplicas(e) {
		st := e.Status.RestoreStatus[r]
		if st == nil {
			st = &longhorn.RestoreStatus{}
			e.Status.RestoreStatus[r] = st
		}
		st.Error = msg
	}
}

// restoreFault takes the error FailRestore armed for a volume, if any.
func (s *Sim) restoreFault(volume string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, ok := s.restoreFaults[volume]
	if !ok {
		return nil
	}
	delete(s.restoreFaults, volume)
	return fmt.Errorf("%s", msg)
}
