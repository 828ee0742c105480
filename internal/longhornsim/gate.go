package longhornsim

import (
	"fmt"

	"github.com/drplan/drplan/internal/longhorn"
)

// gateInput is what checkAndFinishVolumeRestore reads (REFERENCE §1.7), gathered before the
// decision so that the decision is pure.
type gateInput struct {
	// Volume and its engine (Engine nil when there is none).
	Volume *longhorn.Volume
	Engine *longhorn.Engine
	// BackupVolume found by spec.backupTargetName and the volume name in spec.fromBackup; nil
	// when there is none.
	BackupVolume *longhorn.BackupVolume
	// LatestBackupErr is the error getting the Backup CR named by the BackupVolume's
	// status.lastBackupName (nil when found or not needed).
	LatestBackupErr error
	// AllowDegraded is the setting allow-volume-creation-with-degraded-availability.
	AllowDegraded bool
}

// gateDecision is the gate's outcome: Finish, or Wait with Longhorn's log message, or Err
// (Longhorn returns the error and retries).
type gateDecision struct {
	Finish bool
	Wait   string
	Err    error
}

// activationGate is checkAndFinishVolumeRestore (volume_controller.go:3606, REFERENCE §1.7): a
// restore or standby volume finishes only when its requested backup is restored and
// spec.Standby is false; a standby one only when its BackupVolume is synced (no sync request
// after lastSyncedAt) and its latest backup is the one restored; then only when no replica
// purges and the volume is healthy with every scheduled replica in RW mode, or degraded with
// the setting allow-volume-creation-with-degraded-availability true.
func activationGate(in gateInput) gateDecision {
	v, e := in.Volume, in.Engine
	if e == nil || v.Spec.FromBackup == "" {
		return gateDecision{Wait: "no engine or not restored from a backup"}
	}
	if e.Spec.RequestedBackupRestore == "" || e.Spec.RequestedBackupRestore != e.Status.LastRestoredBackup {
		return gateDecision{Wait: fmt.Sprintf("engine has restored %q of requested %q", e.Status.LastRestoredBackup, e.Spec.RequestedBackupRestore)}
	}
	if v.Spec.Standby {
		return gateDecision{Wait: "spec.Standby is true"}
	}
	if v.Status.IsStandby && in.BackupVolume != nil {
		bv := in.BackupVolume
		if bv.Status.LastSyncedAt != nil && after(bv.Spec.SyncRequestedAt, bv.Status.LastSyncedAt) {
			return gateDecision{Wait: fmt.Sprintf("Restore/DR volume needs to wait for backup volume %s update", bv.Spec.VolumeName)}
		}
		if bv.Status.LastBackupName != "" {
			if in.LatestBackupErr != nil {
				return gateDecision{Err: in.LatestBackupErr}
			}
			if bv.Status.LastBackupName != e.Status.LastRestoredBackup {
				return gateDecision{Wait: fmt.Sprintf("Restore/DR volume needs to restore the latest backup %s, and the current restored backup is %s",
					bv.Status.LastBackupName, e.Status.LastRestoredBackup)}
			}
		}
	}
	for _, p := range e.Status.PurgeStatus {
		if p != nil && p.IsPurging {
			return gateDecision{Wait: "a replica is purging snapshots"}
		}
	}
	switch {
	case v.Status.Robustness == longhorn.VolumeRobustnessHealthy && allScheduledReplicasIncluded(v, e):
		return gateDecision{Finish: true}
	case v.Status.Robustness == longhorn.VolumeRobustnessDegraded && in.AllowDegraded:
		return gateDecision{Finish: true}
	case v.Status.Robustness == longhorn.VolumeRobustnessDegraded:
		return gateDecision{Wait: fmt.Sprintf("volume is degraded and setting %s is false", longhorn.SettingAllowDegradedAvailability)}
	default:
		return gateDecision{Wait: fmt.Sprintf("volume robustness is %q", v.Status.Robustness)}
	}
}

// allScheduledReplicasIncluded is checkAllScheduledReplicasIncluded (volume_controller.go:3684)
// over the simulated replicas: at least one in RW mode, and either as many RW as wanted or no
// replica outside RW mode.
func allScheduledReplicasIncluded(v *longhorn.Volume, e *longhorn.Engine) bool {
	rw, other := 0, 0
	for _, mode := range e.Status.ReplicaModeMap {
		if mode == replicaModeRW {
			rw++
		} else {
			other++
		}
	}
	return rw > 0 && (rw >= v.Spec.NumberOfReplicas || other == 0)
}

// Replica modes in Engine.status.replicaModeMap.
const (
	replicaModeRW  = "RW"
	replicaModeERR = "ERR"
)

// robustness is the volume's robustness from its replicas: every wanted replica RW is healthy,
// some is degraded, none is faulted. A detached volume's robustness is unknown unless faulted.
func robustness(wanted, failed int, attached bool) longhorn.VolumeRobustness {
	wanted = max(wanted, 1)
	rw := wanted - failed
	switch {
	case rw <= 0:
		return longhorn.VolumeRobustnessFaulted
	case !attached:
		return longhorn.VolumeRobustnessUnknown
	case rw < wanted:
		return longhorn.VolumeRobustnessDegraded
	default:
		return longhorn.VolumeRobustnessHealthy
	}
}
