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
// as a network partition would; Store.SetReachable cuts it for every cluster.
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
// the volume is degraded, with none it is faulted. n = 0 heals it.
func (s *Sim) FailReplicas(ctx context.Context, volume string, n int) error {
	var val any = strconv.Itoa(n)
	if n <= 0 {
		val = nil
	}
	return s.patchVolume(ctx, volume, map[string]any{"metadata": map[string]any{"annotations": map[string]any{AnnotationFailedReplicas: val}}})
}

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
