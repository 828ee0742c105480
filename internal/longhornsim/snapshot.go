package longhornsim

import (
	"context"
	"fmt"
	"maps"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/drplan/drplan/internal/longhorn"
)

// snapshotReadyTimeout is how long a recurring job waits for its snapshot
// (app/recurringjob SnapshotReadyTimeout, 390 one-second polls).
const snapshotReadyTimeout = 390 * time.Second

// snapshotErrorLost is the snapshot controller's status.error for a snapshot the engine no
// longer knows (snapshot_controller.go snapshotErrorLost).
const snapshotErrorLost = "lost track of the corresponding snapshot info inside volume engine"

// reconcileSnapshot is SnapshotController.reconcile. A Snapshot CR with spec.createSnapshot and
// no status.creationTime is taken (handleSnapshotCreate): the volume's data as of now is
// captured, after Latencies.Snapshot from the CR's creation, once the volume is attached (a
// detached volume is attached for it, see syncSnapshot). The status then mirrors what the
// engine knows (syncSnapshotWithSnapshotInfo): creationTime, size, restoreSize, userCreated,
// labels, readyToUse. A CR whose snapshot the engine does not know is not ready, with
// snapshotErrorLost when it was taken before or never asked for. Deleting the CR drops the
// captured data at once.
//
// Longhorn's mutator puts the finalizer and the longhornvolume label on the CR; the controller
// adds them too when the webhooks are not served.
func (s *Sim) reconcileSnapshot(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if s.paused.Load() {
		return ctrl.Result{RequeueAfter: pausedRequeue}, nil
	}
	var snap longhorn.Snapshot
	if err := s.mgr.GetClient().Get(ctx, req.NamespacedName, &snap); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if snap.DeletionTimestamp != nil {
		return ctrl.Result{}, s.finalizeSnapshot(ctx, &snap)
	}
	if !controllerutil.ContainsFinalizer(&snap, finalizer) || snap.Labels[longhorn.LabelSnapshotVolume] != snap.Spec.Volume {
		patch := client.MergeFrom(snap.DeepCopy())
		controllerutil.AddFinalizer(&snap, finalizer)
		if snap.Labels == nil {
			snap.Labels = map[string]string{}
		}
		snap.Labels[longhorn.LabelSnapshotVolume] = snap.Spec.Volume
		if err := s.api.Patch(ctx, &snap, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer to snapshot %s in cluster %s: %w", snap.Name, s.opts.Cluster, err)
		}
	}
	if snap.Spec.CreateSnapshot && snap.Status.CreationTime == "" {
		if wait := snap.CreationTimestamp.Add(s.currentLatencies().Snapshot).Sub(s.opts.Clock.Now()); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	return ctrl.Result{}, s.syncSnapshot(ctx, &snap)
}

// snapshotErrorNotRunning is the snapshot controller's transient status.error while the
// volume's engine does not run (snapshot_controller.go reconcile).
const snapshotErrorNotRunning = "failed to take snapshot because the volume engine %v is not running. Waiting for the volume to be attached"

// syncSnapshot takes the snapshot when the CR asks for it and the engine does not have it yet,
// then writes the CR's status from the engine's info. A volume that is missing fails the
// reconcile without touching the status, as Longhorn's getTheOnlyEngineCRforSnapshotRO does.
// Until the snapshot is taken the CR holds an attachment ticket on its volume (attachment.go);
// while the volume's engine does not run (detached, attaching, faulted) the CR carries Longhorn's
// transient status.error snapshotErrorNotRunning, cleared once the snapshot is taken.
func (s *Sim) syncSnapshot(ctx context.Context, snap *longhorn.Snapshot) error {
	info, err := s.data.snapshot(snap.Name)
	if err != nil {
		return err
	}
	orig := snap.DeepCopy()
	ticket := ticketID(attacherSnapshotController, snap.Name)
	if info == nil && snap.Spec.CreateSnapshot && snap.Status.CreationTime == "" {
		var v longhorn.Volume
		if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: snap.Spec.Volume}, &v); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("take snapshot %s in cluster %s: getTheOnlyEngineCRforSnapshot: found more than 1 engines for volume %v", snap.Name, s.opts.Cluster, snap.Spec.Volume)
			}
			return fmt.Errorf("take snapshot %s in cluster %s: get volume %s: %w", snap.Name, s.opts.Cluster, snap.Spec.Volume, err)
		}
		s.addTicket(v.Name, ticket)
		running, err := s.engineRunning(ctx, v.Name)
		if err != nil {
			return fmt.Errorf("take snapshot %s in cluster %s: %w", snap.Name, s.opts.Cluster, err)
		}
		if !running {
			snap.Status.Error = fmt.Sprintf(snapshotErrorNotRunning, longhorn.EngineName(v.Name))
			return s.patchSnapshotStatus(ctx, snap, orig)
		}
		info, err = s.data.takeSnapshot(v.Name, snap.Name, snapshotInfo{
			Created:     s.opts.Clock.Now().UTC().Format(time.RFC3339),
			RestoreSize: v.Spec.Size,
			UserCreated: true,
			Labels:      maps.Clone(snap.Spec.Labels),
		})
		if err != nil {
			return fmt.Errorf("take snapshot %s in cluster %s: %w", snap.Name, s.opts.Cluster, err)
		}
		s.log.Info("snapshot taken", "snapshot", snap.Name, "volume", v.Name, "size", info.Size, "created", info.Created)
	}
	s.removeTicket(snap.Spec.Volume, ticket)
	if info == nil {
		if !snap.Spec.CreateSnapshot || snap.Status.CreationTime != "" {
			snap.Status.Error = snapshotErrorLost
		}
		snap.Status.ReadyToUse = false
	} else {
		snap.Status.UserCreated = info.UserCreated
		snap.Status.CreationTime = info.Created
		snap.Status.Size = info.Size
		snap.Status.Labels = maps.Clone(info.Labels)
		snap.Status.RestoreSize = info.RestoreSize
		snap.Status.ReadyToUse = true
		snap.Status.Error = ""
	}
	return s.patchSnapshotStatus(ctx, snap, orig)
}

func (s *Sim) patchSnapshotStatus(ctx context.Context, snap, orig *longhorn.Snapshot) error {
	if equality.Semantic.DeepEqual(snap.Status, orig.Status) {
		return nil
	}
	if err := s.api.Status().Patch(ctx, snap, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("update status of snapshot %s in cluster %s: %w", snap.Name, s.opts.Cluster, err)
	}
	return nil
}

// finalizeSnapshot drops the snapshot's data and the finalizer. Longhorn deletes the snapshot
// in the engine and purges it first, attaching the volume if needed; the simulator does not
// model either.
func (s *Sim) finalizeSnapshot(ctx context.Context, snap *longhorn.Snapshot) error {
	s.removeTicket(snap.Spec.Volume, ticketID(attacherSnapshotController, snap.Name))
	if !controllerutil.ContainsFinalizer(snap, finalizer) {
		return nil
	}
	if err := s.data.removeSnapshot(snap.Name); err != nil {
		return err
	}
	patch := client.MergeFrom(snap.DeepCopy())
	controllerutil.RemoveFinalizer(snap, finalizer)
	if err := s.api.Patch(ctx, snap, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of snapshot %s in cluster %s: %w", snap.Name, s.opts.Cluster, err)
	}
	s.log.V(1).Info("snapshot deleted", "snapshot", snap.Name, "volume", snap.Spec.Volume)
	return nil
}

// createSnapshotCR is the REST snapshotCRCreate action followed by the wait for readiness
// that callers of it do (app/recurringjob waitForSnaphotReady, at most SnapshotReadyTimeout): a
// Snapshot CR asking for a new snapshot of the volume, taken at once when the volume is
// attached, after an attachment otherwise. The wait reads the manager's cache, as the REST API
// reads the datastore's informers, so the Backup webhook and controller see the snapshot ready
// afterwards.
func (s *Sim) createSnapshotCR(ctx context.Context, v *longhorn.Volume, name string, labels map[string]string) error {
	snap := &longhorn.Snapshot{}
	snap.Name, snap.Namespace = name, s.opts.Namespace
	snap.Labels = map[string]string{longhorn.LabelSnapshotVolume: v.Name}
	snap.Spec = longhorn.SnapshotSpec{Volume: v.Name, CreateSnapshot: true, Labels: labels}
	if err := s.api.Create(ctx, snap); err != nil {
		return fmt.Errorf("create snapshot %s of volume %s in cluster %s: %w", name, v.Name, s.opts.Cluster, err)
	}
	if err := s.syncSnapshot(ctx, snap); err != nil {
		return err
	}
	deadline := s.opts.Clock.Now().Add(snapshotReadyTimeout)
	for {
		var cached longhorn.Snapshot
		err := s.mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: name}, &cached)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("wait for snapshot %s in cluster %s: %w", name, s.opts.Cluster, err)
		}
		if err == nil && cached.Status.ReadyToUse {
			return nil
		}
		if s.opts.Clock.Now().After(deadline) {
			return fmt.Errorf("timeouted waiting for the the snapshot %v of volume %v to be ready", name, v.Name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for snapshot %s in cluster %s: %w", name, s.opts.Cluster, ctx.Err())
		case <-s.opts.Clock.After(10 * time.Millisecond):
		}
	}
}

// deleteSnapshotCR deletes a Snapshot CR; a missing one is not an error.
func (s *Sim) deleteSnapshotCR(ctx context.Context, name string) error {
	snap := &longhorn.Snapshot{}
	snap.Name, snap.Namespace = name, s.opts.Namespace
	if err := s.api.Delete(ctx, snap); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete snapshot %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	return nil
}

// deleteVolumeSnapshots deletes the Snapshot CRs of a deleted volume, as the garbage collector
// does through their owner reference to the volume (absent from the simulated clusters).
func (s *Sim) deleteVolumeSnapshots(ctx context.Context, volume string) error {
	if err := s.api.DeleteAllOf(ctx, &longhorn.Snapshot{}, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels{longhorn.LabelSnapshotVolume: volume}); err != nil {
		return fmt.Errorf("delete snapshots of volume %s in cluster %s: %w", volume, s.opts.Cluster, err)
	}
	return nil
}
