package longhornsim

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/drplan/drplan/internal/longhorn"
)

// setupControllers registers one controller per Longhorn kind the simulator drives, and the
// workload readiness loop (with the Job stand-in when it has a node) when enabled. Controller
// names carry the cluster's name: several simulators share a process.
func (s *Sim) setupControllers() error {
	inNS := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == s.opts.Namespace })
	name := func(kind string) string { return "longhornsim-" + s.opts.Cluster + "-" + kind }
	builds := []func() error{
		func() error {
			return ctrl.NewControllerManagedBy(s.mgr).Named(name("backuptarget")).
				For(&longhorn.BackupTarget{}).WithEventFilter(inNS).
				Complete(reconcile.Func(s.reconcileBackupTarget))
		},
		func() error {
			return ctrl.NewControllerManagedBy(s.mgr).Named(name("backupvolume")).
				For(&longhorn.BackupVolume{}).WithEventFilter(inNS).
				Watches(&longhorn.BackupTarget{}, handler.EnqueueRequestsFromMapFunc(s.backupVolumesOfTarget)).
				Complete(reconcile.Func(s.reconcileBackupVolume))
		},
		func() error {
			return ctrl.NewControllerManagedBy(s.mgr).Named(name("backup")).
				For(&longhorn.Backup{}).WithEventFilter(inNS).
				Complete(reconcile.Func(s.reconcileBackup))
		},
		func() error {
			return ctrl.NewControllerManagedBy(s.mgr).Named(name("snapshot")).
				For(&longhorn.Snapshot{}).WithEventFilter(inNS).
				Watches(&longhorn.Engine{}, handler.EnqueueRequestsFromMapFunc(s.snapshotsOfEngine)).
				Complete(reconcile.Func(s.reconcileSnapshot))
		},
		func() error {
			return ctrl.NewControllerManagedBy(s.mgr).Named(name("recurringjob")).
				For(&longhorn.RecurringJob{}).WithEventFilter(inNS).
				Complete(reconcile.Func(s.reconcileRecurringJob))
		},
		func() error {
			return ctrl.NewControllerManagedBy(s.mgr).Named(name("volume")).
				For(&longhorn.Volume{}, builder.WithPredicates(inNS)).
				Watches(&longhorn.Engine{}, handler.EnqueueRequestsFromMapFunc(s.volumeOfEngine)).
				Watches(&corev1.PersistentVolume{}, handler.EnqueueRequestsFromMapFunc(s.volumeOfPV)).
				Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(s.volumeOfPVC)).
				WatchesRawSource(source.Channel(s.volumeEvents, &handler.EnqueueRequestForObject{})).
				Watches(&longhorn.BackupVolume{}, handler.EnqueueRequestsFromMapFunc(s.volumesOfBackupVolume)).
				Watches(&longhorn.Backup{}, handler.EnqueueRequestsFromMapFunc(s.volumesOfBackup)).
				Watches(&longhorn.Setting{}, handler.EnqueueRequestsFromMapFunc(s.restoringVolumes)).
				Complete(reconcile.Func(s.reconcileVolume))
		},
	}
	if s.opts.Workloads != nil {
		builds = append(builds,
			func() error {
				return ctrl.NewControllerManagedBy(s.mgr).Named(name("deployment")).
					For(&appsv1.Deployment{}).Complete(reconcile.Func(s.reconcileDeployment))
			},
			func() error {
				return ctrl.NewControllerManagedBy(s.mgr).Named(name("statefulset")).
					For(&appsv1.StatefulSet{}).Complete(reconcile.Func(s.reconcileStatefulSet))
			})
		if s.opts.Workloads.NodeName != "" {
			builds = append(builds, func() error {
				return ctrl.NewControllerManagedBy(s.mgr).Named(name("job")).
					For(&batchv1.Job{}).Owns(&corev1.Pod{}).Complete(reconcile.Func(s.reconcileJob))
			})
		}
	}
	for _, b := range builds {
		if err := b(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sim) request(name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.opts.Namespace, Name: name}}
}

// backupVolumesOfTarget wakes a target's BackupVolumes when the target changes (availability
// gates their sync and deletion).
func (s *Sim) backupVolumesOfTarget(ctx context.Context, o client.Object) []reconcile.Request {
	var list longhorn.BackupVolumeList
	if err := s.mgr.GetClient().List(ctx, &list, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels{longhorn.LabelBackupTarget: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, bv := range list.Items {
		out = append(out, s.request(bv.Name))
	}
	return out
}

func (s *Sim) volumeOfEngine(_ context.Context, o client.Object) []reconcile.Request {
	if v := o.GetLabels()[longhorn.LabelLonghornVolume]; v != "" && o.GetNamespace() == s.opts.Namespace {
		return []reconcile.Request{s.request(v)}
	}
	return nil
}

// volumesOfStoreVolume returns the volumes that read a store volume: those restoring from it
// (label backup-volume) and the one named like it (enqueueVolumesForBackupVolume).
func (s *Sim) volumesOfStoreVolume(ctx context.Context, storeVolume string) []reconcile.Request {
	if storeVolume == "" {
		return nil
	}
	out := []reconcile.Request{s.request(storeVolume)}
	var list longhorn.VolumeList
	if err := s.mgr.GetClient().List(ctx, &list, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels{longhorn.LabelBackupVolume: storeVolume}); err != nil {
		return out
	}
	for _, v := range list.Items {
		if v.Name != storeVolume {
			out = append(out, s.request(v.Name))
		}
	}
	return out
}

func (s *Sim) volumesOfBackupVolume(ctx context.Context, o client.Object) []reconcile.Request {
	bv, ok := o.(*longhorn.BackupVolume)
	if !ok || bv.Namespace != s.opts.Namespace {
		return nil
	}
	return s.volumesOfStoreVolume(ctx, bv.Spec.VolumeName)
}

func (s *Sim) volumesOfBackup(ctx context.Context, o client.Object) []reconcile.Request {
	if o.GetNamespace() != s.opts.Namespace {
		return nil
	}
	return s.volumesOfStoreVolume(ctx, o.GetLabels()[longhorn.LabelBackupVolume])
}

// restoringVolumes wakes every volume still restoring when a Setting changes (the degraded
// setting opens the activation gate).
func (s *Sim) restoringVolumes(ctx context.Context, o client.Object) []reconcile.Request {
	if o.GetNamespace() != s.opts.Namespace {
		return nil
	}
	var list longhorn.VolumeList
	if err := s.mgr.GetClient().List(ctx, &list, client.InNamespace(s.opts.Namespace)); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, v := range list.Items {
		if v.Status.RestoreRequired {
			out = append(out, s.request(v.Name))
		}
	}
	return out
}

// snapshotsOfEngine wakes the Snapshot CRs still to be taken of an engine's volume when the
// engine changes (it starts running once the volume is attached), as Longhorn's snapshot
// controller watches engines.
func (s *Sim) snapshotsOfEngine(ctx context.Context, o client.Object) []reconcile.Request {
	v := o.GetLabels()[longhorn.LabelLonghornVolume]
	if v == "" || o.GetNamespace() != s.opts.Namespace {
		return nil
	}
	var list longhorn.SnapshotList
	if err := s.mgr.GetClient().List(ctx, &list, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels{longhorn.LabelSnapshotVolume: v}); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, snap := range list.Items {
		if snap.Spec.CreateSnapshot && snap.Status.CreationTime == "" {
			out = append(out, s.request(snap.Name))
		}
	}
	return out
}
