package longhornsim

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// restoreJob is one restore under way, by volume. A failed one stays until the volume
// controller sees its errors in the engine's status (its cache may lag), so that no new restore
// starts meanwhile.
type restoreJob struct {
	backup string
	cancel context.CancelFunc
	failed bool
}

// startRestore is the engine monitor's restore step (REFERENCE §1.6 step 5,
// engine_controller.go restoreBackup): when the engine's requestedBackupRestore differs from its
// lastRestoredBackup and no restore runs, restore the requested backup in the background on the
// replicas that are RW. An error is reported by each of those replicas in the engine's
// restoreStatus, and the volume controller then marks them failed (replicasFailedByRestore):
// nothing retries it (REFERENCE §10.1).
func (s *Sim) startRestore(v *longhorn.Volume, e *longhorn.Engine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx == nil || s.restores[v.Name] != nil {
		return
	}
	u, err := longhorn.ParseBackupURL(v.Spec.FromBackup)
	if err != nil {
		s.log.Error(err, "restore impossible", "volume", v.Name)
		return
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	job := &restoreJob{backup: e.Spec.RequestedBackupRestore, cancel: cancel}
	s.restores[v.Name] = job
	replicas := rwReplicas(e)
	// The reconciler goes on using v and e (decoding into them) while the restore runs: the
	// goroutine only reads copies of what it needs.
	volume, engine := v.Name, e.Name
	go func() {
		defer cancel()
		err := s.restore(ctx, volume, engine, u.VolumeName, job.backup, u.TargetURL, replicas)
		failed := err != nil && ctx.Err() == nil
		if failed {
			s.log.Info("restore failed", "volume", volume, "backup", job.backup, "replicas", len(replicas), "error", err.Error())
			s.setRestoreStatus(context.WithoutCancel(ctx), engine, replicas, func(st *longhorn.RestoreStatus) {
				st.IsRestoring, st.Error, st.State = false, err.Error(), restoreStateError
			}, "")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if failed && s.restores[volume] == job {
			job.failed = true
			return
		}
		if s.restores[volume] == job {
			delete(s.restores, volume)
		}
	}()
}

// dropFailedRestore forgets a failed restore once its errors are in the engine's status.
func (s *Sim) dropFailedRestore(volume string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.restores[volume]; r != nil && r.failed {
		delete(s.restores, volume)
	}
}

// restoring reports whether a restore of the volume runs, or failed and its errors are not
// seen yet.
func (s *Sim) restoring(volume string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restores[volume] != nil
}

// restore restores backup into the volume's data: it moves from the store only the blocks
// that differ from what the volume holds, at the restore rate, then sets the engine's
// lastRestoredBackup and records AnnotationLastRestoreFinishedAt and AnnotationLastRestoreBytes.
func (s *Sim) restore(ctx context.Context, volume, engine, storeVolume, backup, targetURL string, replicas []string) error {
	backupURL, _ := longhorn.EncodeBackupURL(backup, storeVolume, targetURL)
	s.setRestoreStatus(ctx, engine, replicas, func(st *longhorn.RestoreStatus) {
		st.IsRestoring, st.CurrentRestoringBackup, st.Progress, st.Error, st.State, st.BackupURL = true, backup, 0, "", "in_progress", backupURL
	}, "")
	if err := s.restoreFault(volume); err != nil {
		return fmt.Errorf("restore backup %s into volume %s: %w", backup, volume, err)
	}
	if err := s.storeErr(); err != nil {
		return fmt.Errorf("restore backup %s into volume %s: %w", backup, volume, err)
	}
	sb, err := s.opts.Store.InspectBackup(storeVolume, backup)
	if err != nil {
		return fmt.Errorf("restore backup %s into volume %s: %w", backup, volume, err)
	}
	have, err := s.data.read(volume)
	if err != nil {
		return err
	}
	steps := backupstore.PlanRestore(have, sb.Blocks, sb.DataSize, s.opts.BlockSize)
	total, moved := backupstore.FetchBytes(steps), int64(0)
	start := s.opts.Clock.Now()
	lastReport := start
	s.log.Info("restore started", "volume", volume, "backup", backup, "blocks", len(steps), "bytes", total)
	for _, st := range steps {
		if err := s.sleep(ctx, 0); err != nil { // holds while paused
			return err
		}
		if err := s.restoreFault(volume); err != nil {
			return fmt.Errorf("restore backup %s into volume %s: %w", backup, volume, err)
		}
		buf := make([]byte, st.Length)
		if st.BlockChecksum != "" {
			if err := s.storeErr(); err != nil {
				return fmt.Errorf("restore backup %s into volume %s: %w", backup, volume, err)
			}
			blk, err := s.opts.Store.Block(storeVolume, st.BlockChecksum)
			if err != nil {
				return fmt.Errorf("restore backup %s into volume %s: %w", backup, volume, err)
			}
			if err := s.throttle(ctx, int64(len(blk))); err != nil {
				return err
			}
			buf = blk
			moved += int64(len(blk))
		}
		if err := s.data.write(volume, st.Offset, buf); err != nil {
			return err
		}
		if now := s.opts.Clock.Now(); now.Sub(lastReport) > 500*time.Millisecond && total > 0 {
			lastReport = now
			pct := int(moved * 100 / total)
			s.setRestoreStatus(ctx, engine, replicas, func(st *longhorn.RestoreStatus) { st.Progress = pct }, "")
		}
	}
	if err := s.data.truncate(volume, sb.DataSize); err != nil {
		return err
	}
	if err := s.annotate(ctx, volume, map[string]string{
		AnnotationLastRestoreFinishedAt: s.stamp(),
		AnnotationLastRestoreBytes:      strconv.FormatInt(moved, 10),
	}); err != nil {
		return err
	}
	s.setRestoreStatus(ctx, engine, replicas, func(st *longhorn.RestoreStatus) {
		st.IsRestoring, st.LastRestored, st.CurrentRestoringBackup, st.Progress, st.State, st.Error = false, backup, "", 100, "complete", ""
	}, backup)
	s.log.Info("restore finished", "volume", volume, "backup", backup, "bytes", moved, "duration", s.opts.Clock.Since(start))
	return nil
}

// throttle waits the time n bytes take at the restore rate.
func (s *Sim) throttle(ctx context.Context, n int64) error {
	rate := s.restoreRate.Load()
	if rate <= 0 {
		return nil
	}
	return s.sleep(ctx, time.Duration(float64(n)/float64(rate)*float64(time.Second)))
}

// setRestoreStatus patches the engine's restoreStatus of each replica with update and, when
// lastRestored is set, its lastRestoredBackup (all replicas agree, REFERENCE §1.6 step 5).
func (s *Sim) setRestoreStatus(ctx context.Context, engine string, replicas []string, update func(*longhorn.RestoreStatus), lastRestored string) {
	var e longhorn.Engine
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: engine}, &e); err != nil {
		if ctx.Err() == nil {
			s.log.Error(err, "get engine failed", "engine", engine)
		}
		return
	}
	orig := e.DeepCopy()
	if e.Status.RestoreStatus == nil {
		e.Status.RestoreStatus = map[string]*longhorn.RestoreStatus{}
	}
	for _, r := range replicas {
		st := e.Status.RestoreStatus[r]
		if st == nil {
			st = &longhorn.RestoreStatus{}
			e.Status.RestoreStatus[r] = st
		}
		update(st)
	}
	if lastRestored != "" {
		e.Status.LastRestoredBackup = lastRestored
	}
	if err := s.api.Status().Patch(ctx, &e, client.MergeFrom(orig)); err != nil && ctx.Err() == nil {
		s.log.Error(err, "update engine restore status failed", "engine", engine)
	}
}

// restoringFrom returns a volume of this cluster restoring from the store volume, or "".
func (s *Sim) restoringFrom(storeVolume string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, r := range s.restores {
		if r.failed {
			continue
		}
		var v longhorn.Volume
		if err := s.mgr.GetClient().Get(context.Background(), client.ObjectKey{Namespace: s.opts.Namespace, Name: name}, &v); err == nil &&
			v.Labels[longhorn.LabelBackupVolume] == storeVolume {
			return name
		}
	}
	return ""
}

// equalJSON compares two values as the API server would store them.
func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	return string(ja) == string(jb)
}
