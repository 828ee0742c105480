package longhornsim

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

// The activation gate is the simulator's own port of longhorn-manager's
// VolumeController.checkAndFinishVolumeRestore and checkAllScheduledReplicasIncluded
// (controller/volume_controller.go, REFERENCE §1.7). It deliberately does not call the agent's
// predicates in internal/longhorn (ActivationGate and the like): the simulator is what those
// predicates are checked against, so it must not be built from them (imports_test.go holds this).

// restoreGate is what checkAndFinishVolumeRestore reads about one volume, gathered once by
// gatherRestoreGate so that finishRestore stays pure.
type restoreGate struct {
	volume *longhorn.Volume
	engine *longhorn.Engine
	// backupVolume is GetBackupVolumeByBackupTargetAndVolumeRO(spec.backupTargetName, the volume
	// named in fromBackup); nil when NotFound (Longhorn then skips the freshness checks).
	backupVolume *longhorn.BackupVolume
	// latestBackup is GetBackup(backupVolume.status.lastBackupName), latestErr its error: any
	// error, NotFound included, is returned by the gate and the volume controller retries.
	latestBackup *longhorn.Backup
	latestErr    error
	// replicas are the volume's scheduled replicas on nodes that are up (the simulator has one
	// node, always up, and schedules every replica on it).
	replicas []string
	// allowDegraded is the setting allow-volume-creation-with-degraded-availability.
	allowDegraded bool
}

// finishRestore is checkAndFinishVolumeRestore: whether the volume controller finishes a restore
// or activated DR volume now (status.isStandby and status.restoreRequired become false). When it
// does not, why says what it waits for; err is what Longhorn returns as the sync's error.
func finishRestore(g restoreGate) (finish bool, why string, err error) {
	v, e := g.volume, g.engine
	if e == nil {
		return false, fmt.Sprintf("volume %s has no engine", v.Name), nil
	}
	if v.Spec.FromBackup == "" {
		return false, fmt.Sprintf("volume %s is not restored from a backup", v.Name), nil
	}
	isPurging := false
	for _, st := range e.Status.PurgeStatus {
		if st != nil && st.IsPurging {
			isPurging = true
			break
		}
	}
	switch {
	case e.Spec.RequestedBackupRestore == "":
		return false, fmt.Sprintf("engine %s has no requested backup", e.Name), nil
	case e.Spec.RequestedBackupRestore != e.Status.LastRestoredBackup:
		return false, fmt.Sprintf("engine %s restored %q, requested %s", e.Name, e.Status.LastRestoredBackup, e.Spec.RequestedBackupRestore), nil
	case v.Spec.Standby:
		return false, "spec.Standby is true", nil
	}
	if v.Status.IsStandby {
		if bv := g.backupVolume; bv != nil {
			if bv.Status.LastSyncedAt != nil && !bv.Status.LastSyncedAt.IsZero() &&
				bv.Spec.SyncRequestedAt != nil && bv.Spec.SyncRequestedAt.After(bv.Status.LastSyncedAt.Time) {
				return false, fmt.Sprintf("Restore/DR volume needs to wait for backup volume %s update", bv.Spec.VolumeName), nil
			}
			if bv.Status.LastBackupName != "" {
				if g.latestErr != nil {
					return false, "", g.latestErr
				}
				if b := g.latestBackup; b.Name != e.Status.LastRestoredBackup {
					return false, fmt.Sprintf("Restore/DR volume needs to restore the latest backup %s, and the current restored backup is %s",
						b.Name, e.Status.LastRestoredBackup), nil
				}
			}
		}
	}
	included := allScheduledReplicasIncluded(v, e, g.replicas)
	healthy := v.Status.Robustness == longhorn.VolumeRobustnessHealthy && included
	degraded := v.Status.Robustness == longhorn.VolumeRobustnessDegraded && g.allowDegraded
	if !isPurging && (healthy || degraded) {
		return true, "", nil
	}
	switch {
	case isPurging:
		return false, "a replica is purging snapshots", nil
	case v.Status.Robustness == longhorn.VolumeRobustnessHealthy:
		return false, "healthy but not all scheduled replicas are included in the engine", nil
	case v.Status.Robustness == longhorn.VolumeRobustnessDegraded:
		return false, fmt.Sprintf("degraded and setting %s is false", longhorn.SettingAllowDegradedAvailability), nil
	default:
		return false, fmt.Sprintf("robustness is %q", v.Status.Robustness), nil
	}
}

// allScheduledReplicasIncluded is checkAllScheduledReplicasIncluded: at least one replica RW in
// the engine, and either as many RW as spec.numberOfReplicas or none left out.
func allScheduledReplicasIncluded(v *longhorn.Volume, e *longhorn.Engine, replicas []string) bool {
	healthy, notIncluded := 0, false
	for _, r := range replicas {
		if e.Status.ReplicaModeMap[r] == longhorn.ReplicaModeRW {
			healthy++
		} else {
			notIncluded = true
		}
	}
	return healthy > 0 && (healthy >= v.Spec.NumberOfReplicas || !notIncluded)
}

// gatherRestoreGate reads the gate's inputs from the manager's cache, as Longhorn reads its
// informers. An error here is one Longhorn's gate returns too (a bad fromBackup URL, a lookup
// that fails other than NotFound, an unreadable setting).
func (s *Sim) gatherRestoreGate(ctx context.Context, v *longhorn.Volume, e *longhorn.Engine) (restoreGate, error) {
	c := s.mgr.GetClient()
	g := restoreGate{volume: v, engine: e}
	for i := range max(v.Spec.NumberOfReplicas, 1) {
		g.replicas = append(g.replicas, replicaName(v.Name, i))
	}
	if v.Status.IsStandby && v.Spec.FromBackup != "" {
		u, err := longhorn.ParseBackupURL(v.Spec.FromBackup)
		if err != nil {
			return g, fmt.Errorf("failed to get backup name from volume %s backup URL %v: %w", v.Name, v.Spec.FromBackup, err)
		}
		bv, err := s.findBackupVolume(ctx, c, v.Spec.BackupTargetName, u.VolumeName)
		if err != nil {
			return g, err
		}
		g.backupVolume = bv
		if bv != nil && bv.Status.LastBackupName != "" {
			var b longhorn.Backup
			err := c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: bv.Status.LastBackupName}, &b)
			if apierrors.IsNotFound(err) {
				err = apierrors.NewNotFound(groupResource("backup"), bv.Status.LastBackupName)
			}
			g.latestBackup, g.latestErr = &b, err
		}
	}
	allow, err := s.settingBool(ctx, longhorn.SettingAllowDegradedAvailability)
	if err != nil {
		return g, err
	}
	g.allowDegraded = allow
	return g, nil
}
