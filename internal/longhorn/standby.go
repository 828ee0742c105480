package longhorn

import (
	"fmt"
)

// DRView is what the standby predicates read about one standby (DR) volume in its cluster,
// gathered once by the caller so that the predicates stay pure.
//
// +kubebuilder:object:generate=false
type DRView struct {
	// Volume is the standby volume.
	Volume *Volume
	// Engine is the volume's active engine (see observed.State.ActiveEngine); nil when there is
	// none yet.
	Engine *Engine
	// BackupVolume is the volume's BackupVolume in spec.backupTargetName (see FindBackupVolume,
	// observed.State.BackupVolumeOf); nil when that cluster has none.
	BackupVolume *BackupVolume
	// LatestBackup is the Backup CR named by BackupVolume.status.lastBackupName (see
	// observed.State.Backup); nil when that cluster has none.
	LatestBackup *Backup
	// AllowDegraded is the setting allow-volume-creation-with-degraded-availability (see
	// DegradedActivationAllowed).
	AllowDegraded bool
}

// RestoreInProgress is the Longhorn UI's gray DR icon (REFERENCE §2.2, longhorn-ui
// VolumeList.js volumeRestoring): a standby volume whose engine has not restored its newest
// backup. With no engine the UI shows neither state; this returns false.
func RestoreInProgress(v *Volume, e *Engine) bool {
	if v == nil || e == nil || !v.Spec.Standby {
		return false
	}
	if v.Status.LastBackup != "" {
		return v.Status.LastBackup != e.Status.LastRestoredBackup
	}
	return e.Spec.RequestedBackupRestore != e.Status.LastRestoredBackup
}

// StandbyCaughtUp reports whether a standby volume is fully synchronised and ready to activate:
// the UI's blue icon plus the conditions of the activation gate (REFERENCE §2.2's suggested
// predicate, §1.7). primaryLastBackup, when not empty, is the newest completed backup of the
// source volume as the primary cluster sees it, and the standby volume must have restored it.
// When not caught up, the string says what it waits for.
func StandbyCaughtUp(in DRView, primaryLastBackup string) (bool, string) {
	v, e := in.Volume, in.Engine
	if v == nil {
		return false, "volume not found"
	}
	switch {
	case !v.Spec.Standby:
		return false, fmt.Sprintf("volume %s is not a standby volume (spec.Standby is false)", v.Name)
	case !v.Status.IsStandby:
		return false, fmt.Sprintf("volume %s has not started its standby restore (status.isStandby is false)", v.Name)
	case v.Status.State != VolumeStateAttached:
		return false, fmt.Sprintf("volume %s is %s, not attached", v.Name, stateOrUnknown(v.Status.State))
	case e == nil:
		return false, fmt.Sprintf("volume %s has no engine", v.Name)
	case e.Status.LastRestoredBackup == "":
		return false, fmt.Sprintf("volume %s has restored no backup yet", v.Name)
	}
	want := v.Status.LastBackup
	if want == "" {
		want = e.Spec.RequestedBackupRestore
	}
	if e.Status.LastRestoredBackup != want {
		return false, fmt.Sprintf("volume %s restored backup %s, newest is %s", v.Name, e.Status.LastRestoredBackup, want)
	}
	if primaryLastBackup != "" && e.Status.LastRestoredBackup != primaryLastBackup {
		return false, fmt.Sprintf("volume %s restored backup %s, primary's newest is %s", v.Name, e.Status.LastRestoredBackup, primaryLastBackup)
	}
	if why := replicaActivity(e); why != "" {
		return false, fmt.Sprintf("volume %s: %s", v.Name, why)
	}
	if ok, why := robustEnough(in); !ok {
		return false, why
	}
	bv := in.BackupVolume
	if bv == nil {
		return false, fmt.Sprintf("volume %s has no backup volume in this cluster", v.Name)
	}
	if SyncDue(bv.Spec.SyncRequestedAt, bv.Status.LastSyncedAt) {
		return false, fmt.Sprintf("backup volume %s has a sync pending", bv.Name)
	}
	if bv.Status.LastBackupName != v.Status.LastBackup {
		return false, fmt.Sprintf("volume %s follows backup %s, backup volume %s has %s", v.Name, v.Status.LastBackup, bv.Name, bv.Status.LastBackupName)
	}
	return true, ""
}

// ActivationGate is longhorn-manager's checkAndFinishVolumeRestore (REFERENCE §1.7): whether the
// volume controller finishes a restore or activated standby volume now, setting
// status.isStandby and status.restoreRequired to false. When it does not, the string says what it
// waits for. Longhorn counts replicas from Replica CRs; this reads them from the engine's
// status.replicaModeMap (RW replicas are included, any other mode is not). The simulator uses
// this to decide, the agent to explain a wait.
func ActivationGate(in DRView) (bool, string) {
	v, e := in.Volume, in.Engine
	switch {
	case v == nil:
		return false, "volume not found"
	case e == nil:
		return false, fmt.Sprintf("volume %s has no engine", v.Name)
	case v.Spec.FromBackup == "":
		return false, fmt.Sprintf("volume %s is not restored from a backup", v.Name)
	case v.Spec.Standby:
		return false, fmt.Sprintf("volume %s: activation not requested (spec.Standby is true)", v.Name)
	case e.Spec.RequestedBackupRestore == "":
		return false, fmt.Sprintf("volume %s: engine has no requested backup", v.Name)
	case e.Spec.RequestedBackupRestore != e.Status.LastRestoredBackup:
		return false, fmt.Sprintf("volume %s: engine restored %q, requested %s", v.Name, e.Status.LastRestoredBackup, e.Spec.RequestedBackupRestore)
	}
	if v.Status.IsStandby && in.BackupVolume != nil {
		bv := in.BackupVolume
		if bv.Status.LastSyncedAt != nil && !bv.Status.LastSyncedAt.IsZero() && bv.Spec.SyncRequestedAt != nil &&
			bv.Spec.SyncRequestedAt.After(bv.Status.LastSyncedAt.Time) {
			return false, fmt.Sprintf("Restore/DR volume needs to wait for backup volume %s update", bv.Spec.VolumeName)
		}
		if bv.Status.LastBackupName != "" {
			if in.LatestBackup == nil || in.LatestBackup.Name != bv.Status.LastBackupName {
				return false, fmt.Sprintf("backup %s not found", bv.Status.LastBackupName)
			}
			if in.LatestBackup.Name != e.Status.LastRestoredBackup {
				return false, fmt.Sprintf("Restore/DR volume needs to restore the latest backup %s, and the current restored backup is %s",
					in.LatestBackup.Name, e.Status.LastRestoredBackup)
			}
		}
	}
	for _, p := range e.Status.PurgeStatus {
		if p != nil && p.IsPurging {
			return false, fmt.Sprintf("volume %s: a replica is purging snapshots", v.Name)
		}
	}
	return robustEnough(in)
}

// robustEnough is the activation gate's last condition: healthy with every scheduled replica
// included, or degraded with the setting on.
func robustEnough(in DRView) (bool, string) {
	v := in.Volume
	switch v.Status.Robustness {
	case VolumeRobustnessHealthy:
		if !allReplicasIncluded(v, in.Engine) {
			return false, fmt.Sprintf("volume %s is healthy but not all scheduled replicas are in RW mode", v.Name)
		}
		return true, ""
	case VolumeRobustnessDegraded:
		if !in.AllowDegraded {
			return false, fmt.Sprintf("volume %s is degraded and setting %s is false", v.Name, SettingAllowDegradedAvailability)
		}
		return true, ""
	default:
		return false, fmt.Sprintf("volume %s is %s", v.Name, robustnessOrUnknown(v.Status.Robustness))
	}
}

// allReplicasIncluded is checkAllScheduledReplicasIncluded over the engine's replica modes.
func allReplicasIncluded(v *Volume, e *Engine) bool {
	if e == nil {
		return false
	}
	rw, other := 0, 0
	for _, mode := range e.Status.ReplicaModeMap {
		if mode == ReplicaModeRW {
			rw++
		} else {
			other++
		}
	}
	return rw > 0 && (rw >= v.Spec.NumberOfReplicas || other == 0)
}

// replicaActivity says what a replica is still doing, "" when idle and error-free.
func replicaActivity(e *Engine) string {
	for addr, rs := range e.Status.RestoreStatus {
		if rs == nil {
			continue
		}
		if rs.IsRestoring {
			return fmt.Sprintf("replica %s is restoring %s", addr, rs.CurrentRestoringBackup)
		}
		if rs.Error != "" {
			return fmt.Sprintf("replica %s restore failed: %s", addr, rs.Error)
		}
	}
	for addr, p := range e.Status.PurgeStatus {
		if p != nil && p.IsPurging {
			return fmt.Sprintf("replica %s is purging snapshots", addr)
		}
	}
	return ""
}

// ActivationRequested reports whether activation was asked for and has not finished yet:
// spec.Standby is false while status.isStandby is still true (REFERENCE §1.2).
func ActivationRequested(v *Volume) bool {
	return v != nil && !v.Spec.Standby && v.Status.IsStandby
}

// ActivationFinished reports whether a volume restored from a backup has left standby for good:
// spec.Standby false, its restore initiated and done (status.isStandby and
// status.restoreRequired false). Longhorn then detaches it (ActivationSettled).
func ActivationFinished(v *Volume) bool {
	return v != nil && !v.Spec.Standby && v.Spec.FromBackup != "" &&
		v.Status.RestoreInitiated && !v.Status.IsStandby && !v.Status.RestoreRequired
}

// ActivationSettled reports whether an activated volume is finished and detached, ready for a
// PV, a PVC and a workload (REFERENCE §1.7, §9 note 2).
func ActivationSettled(v *Volume) bool {
	return ActivationFinished(v) && v.Status.State == VolumeStateDetached
}

func stateOrUnknown(s VolumeState) string {
	if s == "" {
		return "in no state yet"
	}
	return string(s)
}

func robustnessOrUnknown(r VolumeRobustness) string {
	if r == "" {
		return "of unknown robustness"
	}
	return string(r)
}
