package longhornsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
	name, err := longhorn.NewBackupName()
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

// reconcileBackup is BackupController.reconcile (REFERENCE §3.1, §3.5). A backup made in this
// cluster (spec.snapshotName set) is uploaded: InProgress, blocks into the store, its config
// after Latencies.Backup, then Completed, and its BackupVolume (or, before that exists, its
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
	sb, err := s.opts.Store.Backup(vol, b.Name)
	if err != nil {
		s.log.Info("backup sync skipped: cannot read backup config", "backup", b.Name, "error", err.Error())
		return ctrl.Result{}, nil
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

// reconcileUpload drives a backup this cluster makes: a new one starts uploading, one left
// InProgress by a previous run of the simulator is marked Error.
func (s *Sim) reconcileUpload(ctx context.Context, b *longhorn.Backup) (ctrl.Result, error) {
	s.mu.Lock()
	_, running := s.uploads[b.Name]
	s.mu.Unlock()
	switch b.Status.State {
	case longhorn.BackupStateNew, longhorn.BackupStatePending:
		if running {
			return ctrl.Result{}, nil
		}
		return s.startUpload(ctx, b)
	case longhorn.BackupStateInProgress:
		if running {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, s.failBackup(ctx, b.Name, errors.New("backup interrupted: longhorn-manager restarted"))
	default:
		return ctrl.Result{}, nil
	}
}

// Backup controller messages while it waits for the snapshot (backup_controller.go), and how
// many reconciles it waits before giving up (maxCreationRetry).
const (
	msgTypeReconcileInfo        = "info"
	msgFailedToGetSnapshot      = "Failed to get the Snapshot %v"
	msgWaitForSnapshot          = "Waiting for the snapshot %v to be ready"
	msgFailedWaitingForSnapshot = "Failed waiting for the snapshot %v to be ready"
	maxCreationRetry            = 5
	backupResync                = 30 * time.Second // Longhorn's informer resync period
)

// startUpload checks the backup's Snapshot CR (BackupController.checkMonitor), then uploads the
// data the snapshot captured in the background. status.snapshotCreatedAt is the snapshot's
// creation time.
func (s *Sim) startUpload(ctx context.Context, b *longhorn.Backup) (ctrl.Result, error) {
	vol := b.Labels[longhorn.LabelBackupVolume]
	c := s.mgr.GetClient()
	var v longhorn.Volume
	if err := c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: vol}, &v); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, s.failBackup(ctx, b.Name, fmt.Errorf("volume %v not found", vol))
		}
		return ctrl.Result{}, fmt.Errorf("get volume %s of backup %s in cluster %s: %w", vol, b.Name, s.opts.Cluster, err)
	}
	snapName := b.Spec.SnapshotName
	var snap longhorn.Snapshot
	if err := c.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: snapName}, &snap); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("get snapshot %s of backup %s in cluster %s: %w", snapName, b.Name, s.opts.Cluster, err)
		}
		msg := fmt.Sprintf(msgFailedToGetSnapshot, snapName)
		return s.waitForSnapshot(ctx, b, msg, msg)
	}
	if !snap.Status.ReadyToUse {
		return s.waitForSnapshot(ctx, b, fmt.Sprintf(msgWaitForSnapshot, snapName), fmt.Sprintf(msgFailedWaitingForSnapshot, snapName))
	}
	s.mu.Lock()
	delete(s.snapshotWaits, b.Name)
	s.mu.Unlock()
	info, err := s.data.snapshot(snapName)
	if err != nil {
		return ctrl.Result{}, err
	}
	if info == nil {
		return ctrl.Result{}, s.failBackup(ctx, b.Name, fmt.Errorf("failed to get snapshot %v: %s", snapName, snapshotErrorLost))
	}
	data, err := s.data.readSnapshot(snapName)
	if err != nil {
		return ctrl.Result{}, err
	}
	snapshotAt, err := time.Parse(time.RFC3339, info.Created)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("read creation time of snapshot %s in cluster %s: %w", snapName, s.opts.Cluster, err)
	}
	orig := b.DeepCopy()
	b.Status.OwnerID = s.node
	b.Status.State = longhorn.BackupStateInProgress
	b.Status.Progress = 0
	b.Status.SnapshotName = snapName
	b.Status.SnapshotCreatedAt = longhorn.NewTimestamp(snapshotAt)
	b.Status.VolumeName = vol
	b.Status.BackupTargetName = b.Labels[longhorn.LabelBackupTarget]
	if err := c.Status().Patch(ctx, b, client.MergeFrom(orig)); err != nil {
		return ctrl.Result{}, fmt.Errorf("update status of backup %s in cluster %s: %w", b.Name, s.opts.Cluster, err)
	}
	s.mu.Lock()
	if s.runCtx == nil {
		s.mu.Unlock()
		return ctrl.Result{}, nil
	}
	upCtx, cancel := context.WithCancel(s.runCtx)
	s.uploads[b.Name] = &uploadJob{cancel: cancel}
	s.mu.Unlock()
	// The goroutine works on copies: the caller's objects are not its own.
	name, backup, volume := b.Name, b.DeepCopy(), v.DeepCopy()
	go func() {
		defer func() {
			cancel()
			s.mu.Lock()
			delete(s.uploads, name)
			s.mu.Unlock()
		}()
		if err := s.upload(upCtx, backup, volume, data, snapshotAt); err != nil && upCtx.Err() == nil {
			if ferr := s.failBackup(upCtx, name, err); ferr != nil {
				s.log.Error(ferr, "mark backup failed", "backup", name)
			}
		}
	}()
	return ctrl.Result{}, nil
}

// waitForSnapshot is checkMonitor's wait for the backup's snapshot: the backup is Pending with
// msg in status.messages["info"], and after maxCreationRetry reconciles in Error with
// failMsg. Longhorn's backup controller does not watch snapshots: it looks again on the
// backup's next event or informer resync (backupResync), which is what the requeue stands for.
// status.messages is written as raw JSON: the API server drops it when the CRD does not hold
// the field.
func (s *Sim) waitForSnapshot(ctx context.Context, b *longhorn.Backup, msg, failMsg string) (ctrl.Result, error) {
	s.mu.Lock()
	s.snapshotWaits[b.Name]++
	n := s.snapshotWaits[b.Name]
	if n >= maxCreationRetry {
		delete(s.snapshotWaits, b.Name)
	}
	s.mu.Unlock()
	if n >= maxCreationRetry {
		return ctrl.Result{}, s.failBackup(ctx, b.Name, errors.New(failMsg))
	}
	s.log.Info("backup waits for its snapshot", "backup", b.Name, "snapshot", b.Spec.SnapshotName, "retry", n, "message", msg)
	status := map[string]any{
		"ownerID": s.node, "state": longhorn.BackupStatePending,
		"messages": map[string]string{msgTypeReconcileInfo: msg},
	}
	raw, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("update status of backup %s in cluster %s: %w", b.Name, s.opts.Cluster, err)
	}
	if err := s.api.Status().Patch(ctx, b, client.RawPatch(types.MergePatchType, raw)); err != nil {
		return ctrl.Result{}, fmt.Errorf("update status of backup %s in cluster %s: %w", b.Name, s.opts.Cluster, err)
	}
	return ctrl.Result{RequeueAfter: backupResync}, nil
}

// upload writes the snapshot's blocks, waits out Latencies.Backup, commits the backup's config
// and volume.cfg, completes the CR and asks the BackupVolume to sync (backup_controller.go
// syncBackupVolume, REFERENCE §2.1).
func (s *Sim) upload(ctx context.Context, b *longhorn.Backup, v *longhorn.Volume, data []byte, snapshotAt time.Time) error {
	vol := v.Name
	if err := s.storeErr(); err != nil {
		return fmt.Errorf("failed to upload backup %s: %w", b.Name, err)
	}
	sb := &backupstore.Backup{
		Name: b.Name, VolumeName: vol, SnapshotName: b.Spec.SnapshotName,
		SnapshotCreatedAt: snapshotAt.UTC().Format(time.RFC3339),
		Labels:            b.Spec.Labels,
		Parameters:        map[string]string{"backup-block-size": strconv.FormatInt(s.opts.BlockSize, 10)},
		IsIncremental:     true,
		CompressionMethod: "none",
		DataSize:          int64(len(data)),
	}
	for _, blk := range backupstore.SplitBlocks(data, s.opts.BlockSize) {
		sum, fresh, err := s.opts.Store.PutBlock(vol, blk.Data)
		if err != nil {
			return fmt.Errorf("failed to upload backup %s: %w", b.Name, err)
		}
		sb.Blocks = append(sb.Blocks, backupstore.BlockMapping{Offset: blk.Offset, BlockChecksum: sum})
		sb.Size += int64(len(blk.Data))
		if fresh {
			sb.NewlyUploadedDataSize += int64(len(blk.Data))
		}
	}
	if err := s.sleep(ctx, s.currentLatencies().Backup); err != nil {
		return err
	}
	if err := s.storeErr(); err != nil {
		return fmt.Errorf("failed to upload backup %s: %w", b.Name, err)
	}
	sb.CreatedTime = s.opts.Clock.Now().UTC().Format(time.RFC3339)
	cfg := backupstore.Volume{
		Name: vol, Size: v.Spec.Size, CreatedTime: sb.CreatedTime,
		Labels:            map[string]string{longhorn.LabelVolumeAccessMode: string(v.Spec.AccessMode)},
		CompressionMethod: "none", DataEngine: string(longhorn.DataEngineV1),
	}
	if err := s.opts.Store.CommitBackup(cfg, sb); err != nil {
		return fmt.Errorf("failed to upload backup %s: %w", b.Name, err)
	}
	stored, _, err := s.opts.Store.Volume(vol)
	if err != nil {
		return fmt.Errorf("failed to upload backup %s: %w", b.Name, err)
	}
	var bt longhorn.BackupTarget
	target := b.Labels[longhorn.LabelBackupTarget]
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: target}, &bt); err != nil {
		return fmt.Errorf("get backup target %s of backup %s in cluster %s: %w", target, b.Name, s.opts.Cluster, err)
	}
	var cur longhorn.Backup
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: b.Name}, &cur); err != nil {
		return fmt.Errorf("get backup %s in cluster %s: %w", b.Name, s.opts.Cluster, err)
	}
	orig := cur.DeepCopy()
	if err := s.fillBackupStatus(&cur, &bt, sb, stored); err != nil {
		return err
	}
	if err := s.api.Status().Patch(ctx, &cur, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("update status of backup %s in cluster %s: %w", b.Name, s.opts.Cluster, err)
	}
	s.log.Info("backup completed", "volume", vol, "backup", b.Name, "size", sb.Size, "newlyUploaded", sb.NewlyUploadedDataSize)
	if err := s.syncAfterBackup(ctx, &bt, vol); err != nil {
		return err
	}
	return s.deleteSnapshotAfterBackupCompleted(ctx, &cur)
}

// deleteSnapshotAfterBackupCompleted is the backup controller's function of that name: a
// completed on-demand backup's Snapshot CR is deleted when the Setting
// auto-cleanup-snapshot-after-on-demand-backup-completed is true (default false). A recurring
// job's snapshots are the job's to clean up.
func (s *Sim) deleteSnapshotAfterBackupCompleted(ctx context.Context, b *longhorn.Backup) error {
	if _, ok := b.Status.Labels[recurringJobLabel]; ok {
		return nil
	}
	cleanup, err := s.settingBool(ctx, settingAutoCleanupOnDemandBackupSnapshot)
	if err != nil || !cleanup || b.Spec.SnapshotName == "" {
		return err
	}
	return s.deleteSnapshotCR(ctx, b.Spec.SnapshotName)
}

// syncAfterBackup asks the volume's BackupVolume to sync, or the target when the BackupVolume
// CR does not exist yet.
func (s *Sim) syncAfterBackup(ctx context.Context, bt *longhorn.BackupTarget, vol string) error {
	bv, err := s.findBackupVolume(ctx, s.api, bt.Name, vol)
	if err != nil {
		return fmt.Errorf("find backup volume %s in cluster %s: %w", vol, s.opts.Cluster, err)
	}
	if bv != nil {
		return s.requestSync(ctx, bv)
	}
	patch := client.MergeFrom(bt.DeepCopy())
	bt.Spec.SyncRequestedAt = s.now()
	if err := s.api.Patch(ctx, bt, patch); err != nil {
		return fmt.Errorf("request sync of backup target %s in cluster %s: %w", bt.Name, s.opts.Cluster, err)
	}
	return nil
}

func (s *Sim) failBackup(ctx context.Context, name string, cause error) error {
	var b longhorn.Backup
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: name}, &b); err != nil {
		return client.IgnoreNotFound(err)
	}
	orig := b.DeepCopy()
	b.Status.State = longhorn.BackupStateError
	b.Status.Error = cause.Error()
	b.Status.LastSyncedAt = s.now()
	s.log.Info("backup failed", "backup", name, "error", cause.Error())
	if err := s.api.Status().Patch(ctx, &b, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("update status of backup %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
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
	if !longhorn.DeletesCustomResourceOnly(b.Labels) {
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
