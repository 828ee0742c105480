package longhornsim

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

// AnnotationPrefix starts every annotation the simulator writes or reads. Nothing in a real
// Longhorn writes them; they are the simulator's record of what it did, on the objects
// themselves, so that they survive a restart of the simulator and tests can read them later.
const AnnotationPrefix = "longhornsim.drplan.io/"

// Timestamps the simulator records on a Volume, as annotations valued in RFC 3339 with
// nanoseconds (time.RFC3339Nano, UTC). Each is written once per event and overwritten when the
// event happens again.
const (
	// AnnotationRestoreInitiatedAt: restore init of a restore or standby volume (§1.6 step 1).
	AnnotationRestoreInitiatedAt = AnnotationPrefix + "restore-initiated-at"
	// AnnotationLastRestoreFinishedAt: the engine finished restoring a backup (§1.6 step 5).
	AnnotationLastRestoreFinishedAt = AnnotationPrefix + "last-restore-finished-at"
	// AnnotationActivationRequestedAt: first seen spec.Standby false while status.isStandby
	// (§1.7).
	AnnotationActivationRequestedAt = AnnotationPrefix + "activation-requested-at"
	// AnnotationActivationFinishedAt: the activation gate passed, isStandby and
	// restoreRequired became false (§1.7 checkAndFinishVolumeRestore).
	AnnotationActivationFinishedAt = AnnotationPrefix + "activation-finished-at"
	// AnnotationDetachedAt: the volume reached state detached.
	AnnotationDetachedAt = AnnotationPrefix + "detached-at"
)

// AnnotationLastRestoreBytes records on a Volume how many bytes its last restore moved from the
// store: only the blocks that differed, so an incremental restore shows a small number.
const AnnotationLastRestoreBytes = AnnotationPrefix + "last-restore-bytes"

// AnnotationFailedReplicas is a knob on a Volume, valued with a number of failed replicas: the
// simulator marks that many replicas ERR, so the volume becomes degraded (or faulted when
// none is left). Sim.FailReplicas writes it; removing it heals the volume.
const AnnotationFailedReplicas = AnnotationPrefix + "failed-replicas"

// RecordedTime reads one of the simulator's timestamp annotations from obj; ok is false when it
// was never recorded.
func RecordedTime(obj client.Object, key string) (t time.Time, ok bool, err error) {
	v, found := obj.GetAnnotations()[key]
	if !found {
		return time.Time{}, false, nil
	}
	t, err = time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read annotation %s of %s: %w", key, obj.GetName(), err)
	}
	return t, true, nil
}

// failedReplicas reads the AnnotationFailedReplicas knob.
func failedReplicas(v *longhorn.Volume) int {
	n, err := strconv.Atoi(v.Annotations[AnnotationFailedReplicas])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// annotate merge-patches annotations onto a Volume (metadata only, so the admission webhooks
// see an update that changes nothing they check).
func (s *Sim) annotate(ctx context.Context, volume string, kv map[string]string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": kv}})
	if err != nil {
		return fmt.Errorf("annotate volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	v := &longhorn.Volume{}
	v.Name, v.Namespace = volume, s.opts.Namespace
	if err := s.api.Patch(ctx, v, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		return fmt.Errorf("annotate volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	return nil
}

func (s *Sim) stamp() string {
	return s.opts.Clock.Now().UTC().Format(time.RFC3339Nano)
}
