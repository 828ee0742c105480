package longhornsim

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// SetPaused stops (true) or resumes (false) this cluster's longhorn-manager: while paused no
// controller acts, no poll or cron fires, restores hold still and the admission webhooks deny
// every request with errPaused. It simulates a cluster whose Longhorn stops answering; the API
// server itself keeps answering.
func (s *Sim) SetPaused(paused bool) {
	s.paused.Store(paused)
	s.log.Info("longhorn simulator paused", "paused", paused)
}

// Paused reports whether SetPaused(true) is in force.
func (s *Sim) Paused() bool { return s.paused.Load() }

// SetStoreReachable cuts (false) or restores (true) this cluster's access to the backup store,
// as a network partition would; Store.SetReachable cuts it for every cluster. A restore under
// way then fails, and faults its volume for good (REFERENCE §10.1).
func (s *Sim) SetStoreReachable(ok bool) { s.storeUnreachable.Store(!ok) }

// SetRestoreRate sets how many bytes per second restores move; 0 is unlimited. Restores under
// way take the new rate at their next block.
func (s *Sim) SetRestoreRate(bytesPerSecond int64) { s.restoreRate.Store(max(bytesPerSecond, 0)) }

// SetLatencies replaces the latencies.
func (s *Sim) SetLatencies(l Latencies) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencies = l
}

func (s *Sim) currentLatencies() Latencies {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latencies
}

// storeErr is nil when this cluster reaches the store.
func (s *Sim) storeErr() error {
	if s.storeUnreachable.Load() || !s.opts.Store.Reachable() {
		return backupstore.ErrUnreachable
	}
	return nil
}

// FailReplicas marks n replicas of a volume failed (AnnotationFailedReplicas): with some left
// the volume is degraded, with none it is faulted. n = 0 heals it, as a person replacing the
// replicas would, restore errors included (Longhorn itself never heals a faulted restore or DR
// volume).
func (s *Sim) FailReplicas(ctx context.Context, volume string, n int) error {
	var val any = strconv.Itoa(n)
	if n <= 0 {
		val = nil
		if err := s.clearRestoreErrors(ctx, volume); err != nil {
			return err
		}
	}
	return s.patchVolume(ctx, volume, map[string]any{"metadata": map[string]any{"annotations": map[string]any{AnnotationFailedReplicas: val}}})
}

// clearRestoreErrors drops the restore errors of a volume's engine.
func (s *Sim) clearRestoreErrors(ctx context.Context, volume string) error {
	var e longhorn.Engine
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: longhorn.EngineName(volume)}, &e); err != nil {
		return client.IgnoreNotFound(err)
	}
	orig := e.DeepCopy()
	for _, st := range e.Status.RestoreStatus {
		if st != nil && st.Error != "" {
			st.Error, st.State = "", ""
		}
	}
	if err := s.api.Status().Patch(ctx, &e, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("clear restore errors of volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	s.dropFailedRestore(volume)
	return nil
}

// FailRestore makes the replicas of a volume fail their restore with message (a default when
// empty), as when the backup being restored vanishes from the store or the store stops
// answering mid-restore: the restore under way fails at its next block, or, when none runs, the
// next one fails at its start. The replicas are then marked failed and the volume, a standby
// one included, is faulted for good (REFERENCE §10.1). SetStoreReachable(false) during a
// restore and PruneBackup of the backup being restored cause the same.
func (s *Sim) FailRestore(ctx context.Context, volume, message string) error {
	if _, err := s.getVolume(ctx, volume); err != nil {
		return fmt.Errorf("fail restore of volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if message == "" {
		message = "failed to restore backup: replica restore error (simulated)"
	}
	s.mu.Lock()
	s.restoreFaults[volume] = message
	s.mu.Unlock()
	s.log.Info("restore failure armed", "volume", volume, "message", message)
	return nil
}

// PruneBackup deletes a backup from the store as another cluster's retention does (this
// cluster's guard against deleting a backup under restore does not see that, REFERENCE §3.5,
// §10.1), then requests a sync of this cluster's BackupVolumes of storeVolume, which delete the
// Backup CR (CR only). A standby volume restoring the backup then fails its restore; one whose
// fromBackup it was can no longer be updated or deleted (REFERENCE §10.2, §10.3).
func (s *Sim) PruneBackup(ctx context.Context, storeVolume, backup string) error {
	if err := s.storeErr(); err != nil {
		return fmt.Errorf("prune backup %s in cluster %s: %w", backup, s.opts.Cluster, err)
	}
	if err := s.opts.Store.DeleteBackup(storeVolume, backup); err != nil {
		return fmt.Errorf("prune backup %s in cluster %s: %w", backup, s.opts.Cluster, err)
	}
	var list longhorn.BackupVolumeList
	if err := s.api.List(ctx, &list, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels{longhorn.LabelBackupVolume: storeVolume}); err != nil {
		return fmt.Errorf("prune backup %s in cluster %s: %w", backup, s.opts.Cluster, err)
	}
	for i := range list.Items {
		if err := s.requestSync(ctx, &list.Items[i]); err != nil {
			return err
		}
	}
	s.log.Info("backup pruned from the store", "backup", backup, "volume", storeVolume)
	return nil
}

// SetBackupConfigsReadable makes this cluster's reads of backup configs fail (false) or work
// again (true), as a flaky store would: a backup volume sync meanwhile creates the Backup CRs of
// new backups with spec.backupBlockSize "-1" (AnnotationBackupBlockSize), for good, and a
// standby volume cannot be created from them ("unsupported BackupBlockSize: -1", REFERENCE
// §10.11); pulled Backups are not completed until the configs read again.
func (s *Sim) SetBackupConfigsReadable(ok bool) { s.backupConfigsUnreadable.Store(!ok) }

// Attach attaches a volume to the simulated node, as a workload using it would (Longhorn's
// attachment sets spec.nodeID); a recurring "backup" task only backs up attached volumes
// unless the Setting allow-recurring-job-while-volume-detached is true (REFERENCE §4).
// Longhorn refuses to attach a volume that is restoring (REFERENCE §6).
func (s *Sim) Attach(ctx context.Context, volume string) error {
	var v longhorn.Volume
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: volume}, &v); err != nil {
		return fmt.Errorf("attach volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if err := refuseWhileRestoring(&v); err != nil {
		return fmt.Errorf("attach volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	return s.patchVolume(ctx, volume, map[string]any{"spec": map[string]any{"nodeID": s.node}})
}

// Detach detaches a volume that Attach attached. Longhorn refuses to detach a standby volume
// (REFERENCE §6).
func (s *Sim) Detach(ctx context.Context, volume string) error {
	var v longhorn.Volume
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: volume}, &v); err != nil {
		return fmt.Errorf("detach volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if v.Status.IsStandby {
		return fmt.Errorf("detach volume %s in cluster %s: %w", volume, s.opts.Cluster, refusal("cannot detach standby volume %v", volume))
	}
	return s.patchVolume(ctx, volume, map[string]any{"spec": map[string]any{"nodeID": nil}})
}

func (s *Sim) patchVolume(ctx context.Context, volume string, patch map[string]any) error {
	raw, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("patch volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	v := &longhorn.Volume{}
	v.Name, v.Namespace = volume, s.opts.Namespace
	if err := s.api.Patch(ctx, v, client.RawPatch("application/merge-patch+json", raw)); err != nil {
		return fmt.Errorf("patch volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	return nil
}

// WriteVolume writes data into a volume at offset, as a workload would. It is refused while
// the volume restores (its frontend is disabled) and beyond the volume's size.
func (s *Sim) WriteVolume(ctx context.Context, volume string, offset int64, data []byte) error {
	var v longhorn.Volume
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: volume}, &v); err != nil {
		return fmt.Errorf("write volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if err := refuseWhileRestoring(&v); err != nil {
		return fmt.Errorf("write volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	if offset < 0 || offset+int64(len(data)) > v.Spec.Size {
		return fmt.Errorf("write volume %s in cluster %s: %d bytes at %d exceed size %d", volume, s.opts.Cluster, len(data), offset, v.Spec.Size)
	}
	return s.data.write(volume, offset, data)
}

// ReadVolume returns a copy of a volume's data.
func (s *Sim) ReadVolume(_ context.Context, volume string) ([]byte, error) {
	return s.data.read(volume)
}
