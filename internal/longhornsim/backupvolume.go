package longhornsim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// reconcileBackupVolume is BackupVolumeController.reconcile (REFERENCE §2.1, §3.2, §3.5).
// Deleting a BackupVolume CR deletes the backup volume from the store unless it carries
// longhorn.io/delete-custom-resource-only. When a sync is due (spec.syncRequestedAt after
// status.lastSyncedAt, or never synced) and the store answers, it creates the Backup CRs of
// the backups in the store, deletes (CR only) those gone from it, and copies volume.cfg into
// status (lastBackupName, lastBackupAt, ...) with status.lastSyncedAt. An unreachable store
// leaves lastSyncedAt alone, so a pending sync request stays pending.
func (s *Sim) reconcileBackupVolume(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if s.paused.Load() {
		return ctrl.Result{RequeueAfter: pausedRequeue}, nil
	}
	c := s.mgr.GetClient()
	var bv longhorn.BackupVolume
	if err := c.Get(ctx, req.NamespacedName, &bv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	var bt longhorn.BackupTarget
	btErr := c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: bv.Spec.BackupTargetName}, &bt)
	if btErr != nil && !apierrors.IsNotFound(btErr) {
		return ctrl.Result{}, fmt.Errorf("get backup target %s of backup volume %s in cluster %s: %w", bv.Spec.BackupTargetName, bv.Name, s.opts.Cluster, btErr)
	}
	if bv.DeletionTimestamp != nil {
		return ctrl.Result{}, s.finalizeBackupVolume(ctx, &bv, &bt, btErr == nil)
	}
	if !controllerutil.ContainsFinalizer(&bv, finalizer) {
		patch := client.MergeFrom(bv.DeepCopy())
		controllerutil.AddFinalizer(&bv, finalizer)
		if err := s.api.Patch(ctx, &bv, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer to backup volume %s in cluster %s: %w", bv.Name, s.opts.Cluster, err)
		}
	}
	if btErr != nil {
		return ctrl.Result{}, fmt.Errorf("failed to find the backup target %v for the backup volume %v", bv.Spec.BackupTargetName, bv.Name)
	}
	if bv.Status.LastSyncedAt != nil && !after(bv.Spec.SyncRequestedAt, bv.Status.LastSyncedAt) {
		return ctrl.Result{}, nil
	}
	syncTime := s.now()
	if err := s.probe(bt.Spec.BackupTargetURL); err != nil {
		s.log.Info("backup volume sync skipped: backup target unreachable", "backupVolume", bv.Name, "error", err.Error())
		return ctrl.Result{}, nil
	}
	vol := bv.Spec.VolumeName
	remote, err := s.opts.Store.BackupNames(vol)
	if err != nil {
		s.log.Info("backup volume sync skipped: cannot list backups", "backupVolume", bv.Name, "error", err.Error())
		return ctrl.Result{}, nil
	}
	inStore := map[string]bool{}
	for _, n := range remote {
		inStore[n] = true
	}
	var list longhorn.BackupList
	if err := c.List(ctx, &list, client.InNamespace(s.opts.Namespace), client.MatchingLabels(longhorn.BackupVolumeLabels(bt.Name, vol))); err != nil {
		return ctrl.Result{}, fmt.Errorf("list backups of backup volume %s in cluster %s: %w", bv.Name, s.opts.Cluster, err)
	}
	inCluster := map[string]*longhorn.Backup{}
	for i := range list.Items {
		b := &list.Items[i]
		// A backup this cluster is still making is not the store's to judge.
		if b.Spec.SnapshotName != "" && b.Status.State != longhorn.BackupStateCompleted {
			continue
		}
		inCluster[b.Name] = b
	}
	pulled, deleted := 0, 0
	for _, name := range remote {
		if inCluster[name] != nil {
			continue
		}
		if err := s.pullBackup(ctx, &bv, &bt, name); err != nil {
			return ctrl.Result{}, err
		}
		pulled++
	}
	for name, b := range inCluster {
		if inStore[name] || b.DeletionTimestamp != nil {
			continue
		}
		if err := s.deleteCROnly(ctx, b); err != nil {
			return ctrl.Result{}, err
		}
		deleted++
	}
	cfg, mtime, err := s.opts.Store.Volume(vol)
	if err != nil {
		s.log.Info("backup volume sync skipped: cannot read volume config", "backupVolume", bv.Name, "error", err.Error())
		return ctrl.Result{}, nil
	}
	orig := bv.DeepCopy()
	mod := metav1.NewTime(mtime.UTC().Truncate(time.Second))
	if pulled == 0 && deleted == 0 && bv.Status.LastModificationTime != nil && bv.Status.LastModificationTime.Equal(&mod) {
		bv.Status.LastSyncedAt = syncTime
		return ctrl.Result{}, s.patchBackupVolumeStatus(ctx, &bv, orig)
	}
	if bv.Status.LastBackupName != cfg.LastBackupName && cfg.LastBackupName != "" {
		var last longhorn.Backup
		if err := c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: cfg.LastBackupName}, &last); err == nil {
			p := client.MergeFrom(last.DeepCopy())
			last.Spec.SyncRequestedAt = syncTime
			if err := s.api.Patch(ctx, &last, p); err != nil && !apierrors.IsNotFound(err) {
				s.log.Error(err, "request sync of backup failed", "backup", last.Name)
			}
		}
	}
	bv.Status.LastModificationTime = &mod
	bv.Status.Size = strconv.FormatInt(cfg.Size, 10)
	bv.Status.Labels = cfg.Labels
	bv.Status.CreatedAt = parseTimestamp(cfg.CreatedTime)
	bv.Status.LastBackupName = cfg.LastBackupName
	bv.Status.LastBackupAt = parseTimestamp(cfg.LastBackupAt)
	bv.Status.DataStored = strconv.FormatInt(cfg.BlockCount*s.opts.BlockSize, 10)
	bv.Status.LastSyncedAt = syncTime
	return ctrl.Result{}, s.patchBackupVolumeStatus(ctx, &bv, orig)
}

func (s *Sim) patchBackupVolumeStatus(ctx context.Context, bv, orig *longhorn.BackupVolume) error {
	bv.Status.OwnerID = s.node
	if err := s.mgr.GetClient().Status().Patch(ctx, bv, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("update status of backup volume %s in cluster %s: %w", bv.Name, s.opts.Cluster, err)
	}
	return nil
}

// pullBackup creates the CR of a backup found in the store (BackupVolumeController, "backups to
// pull"): name as in the store, labels backup-target and backup-volume, the access-mode label,
// and spec.backupBlockSize from the backup's config as read now (pulledBackupBlockSize): a
// backup still in progress, or whose config cannot be read, gets "-1" for good (REFERENCE
// §10.10, §10.11). The Backup controller then reads its config and marks it Completed, once it
// can; until then its status.state is empty.
func (s *Sim) pullBackup(ctx context.Context, bv *longhorn.BackupVolume, bt *longhorn.BackupTarget, name string) error {
	spec := longhorn.BackupSpec{Labels: map[string]string{}}
	sb, err := s.inspectBackup(bv.Spec.VolumeName, name)
	if err != nil {
		s.log.Info("Failed to get backupInfo from remote backup target", "backup", name, "backupVolume", bv.Name, "error", err.Error())
	}
	if err == nil && sb.Labels != nil {
		if m, ok := sb.Labels[longhorn.LabelVolumeAccessMode]; ok {
			spec.Labels[longhorn.LabelVolumeAccessMode] = m
		}
	}
	blockSize := strconv.FormatInt(s.pulledBackupBlockSize(sb, err), 10)
	b := &longhorn.Backup{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: s.opts.Namespace,
			Labels:          longhorn.BackupVolumeLabels(bt.Name, bv.Spec.VolumeName),
			Annotations:     map[string]string{AnnotationBackupBlockSize: blockSize},
			OwnerReferences: []metav1.OwnerReference{ownerRef("BackupVolume", bv.Name, bv.UID)},
		},
		Spec: spec,
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(b)
	if err != nil {
		return fmt.Errorf("create backup %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	u := &unstructured.Unstructured{Object: raw}
	u.SetGroupVersionKind(longhorn.SchemeGroupVersion.WithKind("Backup"))
	if err := unstructured.SetNestedField(u.Object, blockSize, "spec", "backupBlockSize"); err != nil {
		return fmt.Errorf("create backup %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	err = s.api.Create(ctx, u)
	if invalidField(err, "spec.backupBlockSize") {
		// The CRD does not take the field as Longhorn's does (a string): the annotation remains.
		s.log.Info("backup CRD refuses spec.backupBlockSize as a string; created without it", "backup", name, "error", err.Error())
		unstructured.RemoveNestedField(u.Object, "spec", "backupBlockSize")
		err = s.api.Create(ctx, u)
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create backup %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	return nil
}

// invalidField reports whether err is the API server's refusal of field as invalid.
func invalidField(err error, field string) bool {
	var se *apierrors.StatusError
	if !apierrors.IsInvalid(err) || !errors.As(err, &se) || se.ErrStatus.Details == nil {
		return false
	}
	for _, c := range se.ErrStatus.Details.Causes {
		if c.Field == field {
			return true
		}
	}
	return false
}

// finalizeBackupVolume deletes the backup volume from the store unless the CR is labelled
// delete-custom-resource-only or the target is unavailable, deletes the Backup CRs of the
// backup volume CR only (what garbage collection of their owner references does in a real
// cluster; these clusters have no kube-controller-manager), and drops the finalizer.
func (s *Sim) finalizeBackupVolume(ctx context.Context, bv *longhorn.BackupVolume, bt *longhorn.BackupTarget, btFound bool) error {
	if !controllerutil.ContainsFinalizer(bv, finalizer) {
		return nil
	}
	if !deletesCustomResourceOnly(bv.Labels) && btFound && bt.Status.Available && s.probe(bt.Spec.BackupTargetURL) == nil {
		if err := s.opts.Store.DeleteVolume(bv.Spec.VolumeName); err != nil && !errors.Is(err, backupstore.ErrNotFound) {
			return fmt.Errorf("delete backup volume %s from store in cluster %s: %w", bv.Name, s.opts.Cluster, err)
		}
		s.log.Info("backup volume deleted from store", "backupVolume", bv.Name, "volume", bv.Spec.VolumeName)
	}
	var list longhorn.BackupList
	if err := s.mgr.GetClient().List(ctx, &list, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels(longhorn.BackupVolumeLabels(bv.Spec.BackupTargetName, bv.Spec.VolumeName))); err != nil {
		return fmt.Errorf("list backups of backup volume %s in cluster %s: %w", bv.Name, s.opts.Cluster, err)
	}
	for i := range list.Items {
		if err := s.deleteCROnly(ctx, &list.Items[i]); err != nil {
			return err
		}
	}
	patch := client.MergeFrom(bv.DeepCopy())
	controllerutil.RemoveFinalizer(bv, finalizer)
	if err := s.api.Patch(ctx, bv, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of backup volume %s in cluster %s: %w", bv.Name, s.opts.Cluster, err)
	}
	return nil
}

// parseTimestamp reads a store time (RFC 3339); "" or garbage give the zero time.
func parseTimestamp(s string) longhorn.Timestamp {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return longhorn.Timestamp{}
	}
	return longhorn.NewTimestamp(t)
}
