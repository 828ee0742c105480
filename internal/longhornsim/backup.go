package longhornsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// recurringJobLabel is the label Longhorn puts on the snapshots and backups a recurring job
// makes, valued with the job's name (types.RecurringJobLabel); retention counts by it.
const recurringJobLabel = "RecurringJob"

// uploadJob is a backup being uploaded by this cluster.
type uploadJob struct{ cancel context.CancelFunc }

// createBackup is what a backup through the REST API amounts to: a Snapshot CR of the volume
// (snapshotCRCreate, taken at once and ready, as app/recurringjob waits for it to be), then a
// Backup CR of that snapshot in the volume's BackupTarget (snapshotBackup, manager/engine.go
// BackupSnapshot; REFERENCE §3.1: name backup-<16 hex>, labels backup-volume and
// backup-target). The Backup controller takes it from there. job is the recurring job's name,
// "" for a manual backup; labels go to both the snapshot and the backup.
func (s *Sim) createBackup(ctx context.Context, v *longhorn.Volume, job string, labels map[string]string) (string, error) {
	var bt longhorn.BackupTarget
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: v.Spec.BackupTargetName}, &bt); err != nil {
		return "", fmt.Errorf("back up volume %s in cluster %s: get backup target %s: %w", v.Name, s.opts.Cluster, v.Spec.BackupTargetName, err)
	}
	if !bt.Status.Available {
		return "", refusal("backup target %s is not available", bt.Name)
	}
	name, err := newBackupName()
	if err != nil {
		return "", err
	}
	snapshot := uuid.NewString()
	snapLabels := maps.Clone(labels)
	if snapLabels == nil {
		snapLabels = map[string]string{}
	}
	if job != "" {
		// app/recurringjob: the first 8 characters of the job's cron-job name, then a UUID.
		snapshot = truncate("recurring-"+job, 8) + "-" + snapshot
		snapLabels[recurringJobLabel] = job
	}
	if err := s.createSnapshotCR(ctx, v, snapshot, snapLabels); err != nil {
		return "", err
	}
	specLabels := maps.Clone(snapLabels)
	specLabels[longhorn.LabelVolumeAccessMode] = string(v.Spec.AccessMode)
	b := &longhorn.Backup{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: s.opts.Namespace,
			Labels: longhorn.BackupVolumeLabels(v.Spec.BackupTargetName, v.Name),
		},
		Spec: longhorn.BackupSpec{SnapshotName: snapshot, Labels: specLabels, BackupMode: longhorn.BackupModeIncremental},
	}
	if err := s.api.Create(ctx, b); err != nil {
		return "", fmt.Errorf("create backup %s of volume %s in cluster %s: %w", name, v.Name, s.opts.Cluster, err)
	}
	s.log.Info("backup requested", "volume", v.Name, "backup", name, "snapshot", snapshot, "job", job)
	return name, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// reconcileBackup is BackupController.reconcile (REFERENCE §3.1, §3.5, §10.9, §10.10). A backup
// made in this cluster (spec.snapshotName set) is uploaded, its volume attached for it:
// InProgress, its config in progress, blocks into the store, its config after Latencies.Backup,
// then Completed, and its BackupVolume (or, before that exists, its
// BackupTarget) is asked to sync at once, which is why the primary's volume.status.lastBackup
// moves immediately (REFERENCE §2.1). A backup pulled from the store, or a completed one whose
// sync is due, takes its status from the store: Completed, url, sizes, times. Deleting a Backup
// CR deletes the backup from the store unless it is labelled delete-custom-resource-only,
// postponed while a volume of this cluster restores from its backup volume.
func (s *Sim) reconcileBackup(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if s.paused.Load() {
		return ctrl.Result{RequeueAfter: pausedRequeue}, nil
	}
	c := s.mgr.GetClient()
	var b longhorn.Backup
	if err := c.Get(ctx, req.NamespacedName, &b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if b.DeletionTimestamp != nil {
		return s.finalizeBackup(ctx, &b)
	}
	if !controllerutil.ContainsFinalizer(&b, finalizer) {
		patch := client.MergeFrom(b.DeepCopy())
		controllerutil.AddFinalizer(&b, finalizer)
		if err := s.api.Patch(ctx, &b, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer to backup %s in cluster %s: %w", b.Name, s.opts.Cluster, err)
		}
	}
	if b.Spec.SnapshotName != "" && backupFinal(b.Status.State) {
		s.removeTicket(b.Labels[longhorn.LabelBackupVolume], ticketID(attacherBackupController, b.Name))
	}
	if b.Spec.SnapshotName != "" && b.Status.State != longhorn.BackupStateCompleted {
		return s.reconcileUpload(ctx, &b)
	}
	if b.Status.LastSyncedAt != nil && !after(b.Spec.SyncRequestedAt, b.Status.LastSyncedAt) {
		return ctrl.Result{}, nil
	}
	target, vol := b.Labels[longhorn.LabelBackupTarget], b.Labels[longhorn.LabelBackupVolume]
	var bt longhorn.BackupTarget
	if err := c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: target}, &bt); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if s.probe(bt.Spec.BackupTargetURL) != nil {
		// The store is unreachable: Longhorn skips the backup volume's sync until it answers.
		return ctrl.Result{}, nil //nolint:nilerr // not an error of the reconcile
	}
	sb, err := s.inspectBackup(vol, b.Name)
	if err != nil {
		// In progress in another cluster, or unreadable: the CR keeps its empty state until a
		// later event or the informer's resync.
		s.log.Info("backup sync skipped: cannot read backup config", "backup", b.Name, "error", err.Error())
		return ctrl.Result{RequeueAfter: backupResync}, nil
	}
	cfg, _, err := s.opts.Store.Volume(vol)
	if err != nil {
		s.log.Info("backup sync skipped: cannot read volume config", "backup", b.Name, "error", err.Error())
		return ctrl.Result{}, nil
	}
	orig := b.DeepCopy()
	if err := s.fillBackupStatus(&b, &bt, sb, cfg); err != nil {
		return ctrl.Result{}, err
	}
	if err := c.Status().Patch(ctx, &b, client.MergeFrom(orig)); err != nil {
		return ctrl.Result{}, fmt.Errorf("update status of backup %s in cluster %s: %w", b.Name, s.opts.Cluster, err)
	}
	return ctrl.Result{}, nil
}

// backupFinal reports whether a backup's state is final (backupInFinalState).
func backupFinal(st longhorn.BackupState) bool {
	return st == longhorn.BackupStateCompleted || st == longhorn.BackupStateError || st == longhorn.BackupStateUnknown
}

// inspectBackup is the backup target client's BackupGet from this cluster: the backup's config,
// an error while it is in progress, or while SetBackupConfigsReadable(false) is in force.
func (s *Sim) inspectBackup(volume, backup string) (*backupstore.Backup, error) {
	if err := s.storeErr(); err != nil {
		return nil, err
	}
	if s.backupConfigsUnreadable.Load() {
		return nil, fmt.Errorf("failed to read the config of backup %v of volume %v: %w", backup, volume, errConfigUnreadable)
	}
	return s.opts.Store.InspectBackup(volume, backup)
}

// errConfigUnreadable is the error of a backup config read while SetBackupConfigsReadable(false).
var errConfigUnreadable = errors.New("backup config unreadable (simulated)")

// fillBackupStatus copies a backup's config into the CR's status as the backup controller does
// once the store is the source of truth.
func (s *Sim) fillBackupStatus(b *longhorn.Backup, bt *longhorn.BackupTarget, sb *backupstore.Backup, cfg *backupstore.Volume) error {
	u, err := longhorn.EncodeBackupURL(sb.Name, sb.VolumeName, bt.Spec.BackupTargetURL)
	if err != nil {
		return fmt.Errorf("encode url of backup %s in cluster %s: %w", b.Name, s.opts.Cluster, err)
	}
	labels := map[string]string{}
	for k, v := range sb.Labels {
		labels[k] = v
	}
	b.Status.OwnerID = s.node
	b.Status.BackupTargetName = bt.Name
	b.Status.State = longhorn.BackupStateCompleted
	b.Status.Progress = 100
	b.Status.Error = ""
	b.Status.URL = u
	b.Status.SnapshotName = sb.SnapshotName
	b.Status.SnapshotCreatedAt = parseTimestamp(sb.SnapshotCreatedAt)
	b.Status.BackupCreatedAt = parseTimestamp(sb.CreatedTime)
	b.Status.Size = strconv.FormatInt(sb.Size, 10)
	b.Status.Labels = labels
	b.Status.VolumeName = sb.VolumeName
	b.Status.VolumeSize = strconv.FormatInt(cfg.Size, 10)
	b.Status.VolumeCreated = parseTimestamp(cfg.CreatedTime)
	b.Status.CompressionMethod = sb.CompressionMethod
	b.Status.LastSyncedAt = s.now()
	b.Status.NewlyUploadedDataSize = strconv.FormatInt(sb.NewlyUploadedDataSize, 10)
	b.Status.ReUploadedDataSize = strconv.FormatInt(sb.ReUploadedDataSize, 10)
	return nil
}

// finalizeBackup deletes a backup from the store when Longhorn would (REFERENCE §3.5) and drops
// the finalizer.
func (s *Sim) finalizeBackup(ctx context.Context, b *longhorn.Backup) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(b, finalizer) {
		return ctrl.Result{}, nil
	}
	s.mu.Lock()
	if up := s.uploads[b.Name]; up != nil {
		up.cancel()
	}
	delete(s.snapshotWaits, b.Name)
	s.mu.Unlock()
	target, vol := b.Labels[longhorn.LabelBackupTarget], b.Labels[longhorn.LabelBackupVolume]
	s.removeTicket(vol, ticketID(attacherBackupController, b.Name))
	if !deletesCustomResourceOnly(b.Labels) {
		c := s.mgr.GetClient()
		var bt longhorn.BackupTarget
		btErr := c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: target}, &bt)
		bv, bvErr := s.findBackupVolume(ctx, c, target, vol)
		if btErr == nil && bvErr == nil && bv != nil && bv.DeletionTimestamp == nil && bt.Status.Available && s.probe(bt.Spec.BackupTargetURL) == nil {
			if restoring := s.restoringFrom(vol); restoring != "" {
				s.log.Info("backup deletion postponed", "message", fmt.Sprintf("backup %v cannot be deleted due to the ongoing volume %v restoration", b.Name, restoring))
				return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
			}
			if err := s.opts.Store.DeleteBackup(vol, b.Name); err != nil {
				return ctrl.Result{}, fmt.Errorf("delete backup %s from store in cluster %s: %w", b.Name, s.opts.Cluster, err)
			}
			s.log.Info("backup deleted from store", "backup", b.Name, "volume", vol)
			if err := s.requestSync(ctx, bv); err != nil {
				s.log.Error(err, "request sync after backup deletion failed", "backupVolume", bv.Name)
			}
		}
	}
	// auto-cleanup-when-delete-backup (default false): best effort, as Longhorn's.
	if cleanup, err := s.settingBool(ctx, settingAutoCleanupWhenDeleteBackup); err == nil && cleanup && b.Spec.SnapshotName != "" {
		if err := s.deleteSnapshotCR(ctx, b.Spec.SnapshotName); err != nil {
			s.log.Error(err, "delete snapshot of deleted backup failed", "backup", b.Name, "snapshot", b.Spec.SnapshotName)
		}
	}
	patch := client.MergeFrom(b.DeepCopy())
	controllerutil.RemoveFinalizer(b, finalizer)
	if err := s.api.Patch(ctx, b, patch); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("remove finalizer of backup %s in cluster %s: %w", b.Name, s.opts.Cluster, err)
	}
	return ctrl.Result{}, nil
}

// sleep waits d on the clock, holding still while the simulator is paused.
func (s *Sim) sleep(ctx context.Context, d time.Duration) error {
	for d > 0 || s.paused.Load() {
		step := d
		if s.paused.Load() || step > 200*time.Millisecond {
			step = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.opts.Clock.After(step):
		}
		if !s.paused.Load() {
			d -= step
		}
	}
	return ctx.Err()
}

// newBackupName returns a fresh backup name like Longhorn's: "backup-" and 16 random hex digits
// (REFERENCE §3.1). A backup keeps its name in every cluster that reads the store.
func newBackupName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate backup name: %w", err)
	}
	return longhorn.BackupNamePrefix + hex.EncodeToString(b[:]), nil
}

// deletesCustomResourceOnly reports whether deleting an object with labels keeps the data in the
// backup store.
func deletesCustomResourceOnly(labels map[string]string) bool {
	return labels[longhorn.LabelDeleteCustomResourceOnly] == "true"
}
