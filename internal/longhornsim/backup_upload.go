package longhornsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

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

// startUpload takes an attachment ticket on the volume and waits for it to be attached, checks
// the backup's Snapshot CR (BackupController.checkMonitor), then uploads the data the snapshot
// captured in the background, holding the ticket until the upload ends (REFERENCE §10.9).
// status.snapshotCreatedAt is the snapshot's creation time.
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
	// handleAttachmentTicketCreation, then checkMonitor's VerifyAttachment: a detached volume is
	// attached for the backup, which waits (its state unchanged) until it is.
	ticket := ticketID(attacherBackupController, b.Name)
	s.addTicket(vol, ticket)
	running, err := s.engineRunning(ctx, vol)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("check engine of volume %s for backup %s in cluster %s: %w", vol, b.Name, s.opts.Cluster, err)
	}
	if !running {
		s.log.V(1).Info(fmt.Sprintf("waiting for attachment %v to be attached before enabling backup monitor", ticket), "backup", b.Name)
		return ctrl.Result{RequeueAfter: attachmentPoll}, nil
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
			s.removeTicket(vol, ticket)
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
		Parameters:        map[string]string{backupParameterBlockSize: strconv.FormatInt(s.opts.BlockSize, 10)},
		IsIncremental:     true,
		CompressionMethod: "none",
		DataSize:          int64(len(data)),
	}
	cfg := backupstore.Volume{
		Name: vol, Size: v.Spec.Size, CreatedTime: s.opts.Clock.Now().UTC().Format(time.RFC3339),
		Labels:            map[string]string{longhorn.LabelVolumeAccessMode: string(v.Spec.AccessMode)},
		CompressionMethod: "none", DataEngine: string(longhorn.DataEngineV1),
	}
	// The config is written first, in progress: other clusters list the backup from now on.
	if err := s.opts.Store.BeginBackup(cfg, b.Name); err != nil {
		return fmt.Errorf("failed to upload backup %s: %w", b.Name, err)
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
