package longhornsim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

// cronEntry is the schedule of one RecurringJob.
type cronEntry struct {
	spec    string
	cancel  context.CancelFunc
	running sync.Mutex // a job does not overlap itself (Longhorn's CronJob forbids concurrency)
}

func (c *cronEntry) stop() { c.cancel() }

// reconcileRecurringJob keeps one cron schedule per RecurringJob with task backup or
// backup-force-create (REFERENCE §4), parsed with cron.ParseStandard as Longhorn does, and
// unbinds the volumes of a deleted job. Other tasks are not simulated.
func (s *Sim) reconcileRecurringJob(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var job longhorn.RecurringJob
	err := s.mgr.GetClient().Get(ctx, req.NamespacedName, &job)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("get recurring job %s in cluster %s: %w", req.Name, s.opts.Cluster, err)
	}
	if apierrors.IsNotFound(err) {
		if err := s.unbindJob(ctx, req.Name); err != nil {
			return ctrl.Result{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.crons[req.Name]
	if apierrors.IsNotFound(err) || job.DeletionTimestamp != nil || !isBackupTask(job.Spec.Task) {
		if cur != nil {
			cur.stop()
			delete(s.crons, req.Name)
		}
		return ctrl.Result{}, nil
	}
	if cur != nil && cur.spec == job.Spec.Cron {
		return ctrl.Result{}, nil
	}
	if cur != nil {
		cur.stop()
		delete(s.crons, req.Name)
	}
	sched, err := cron.ParseStandard(job.Spec.Cron)
	if err != nil {
		s.log.Error(err, "recurring job has an invalid cron", "job", job.Name, "cron", job.Spec.Cron)
		return ctrl.Result{}, nil
	}
	if s.runCtx == nil {
		return ctrl.Result{}, nil
	}
	cctx, cancel := context.WithCancel(s.runCtx)
	entry := &cronEntry{spec: job.Spec.Cron, cancel: cancel}
	s.crons[req.Name] = entry
	go s.runCron(cctx, entry, req.Name, sched)
	return ctrl.Result{}, nil
}

// unbindJob removes a deleted job's label from the volumes, as Longhorn does when a
// RecurringJob CR is deleted (REFERENCE §4).
func (s *Sim) unbindJob(ctx context.Context, job string) error {
	var list longhorn.VolumeList
	label := longhorn.RecurringJobLabel(job)
	if err := s.mgr.GetClient().List(ctx, &list, client.InNamespace(s.opts.Namespace), client.HasLabels{label}); err != nil {
		return fmt.Errorf("list volumes of recurring job %s in cluster %s: %w", job, s.opts.Cluster, err)
	}
	for i := range list.Items {
		if err := s.patchVolume(ctx, list.Items[i].Name, map[string]any{"metadata": map[string]any{"labels": map[string]any{label: nil}}}); err != nil {
			return err
		}
		s.log.Info("recurring job label removed", "job", job, "volume", list.Items[i].Name)
	}
	return nil
}

func isBackupTask(t longhorn.RecurringJobTask) bool {
	return t == longhorn.RecurringJobTaskBackup || t == longhorn.RecurringJobTaskBackupForceCreate
}

// runCron fires the job at each time of its schedule, on the simulator's clock.
func (s *Sim) runCron(ctx context.Context, entry *cronEntry, name string, sched cron.Schedule) {
	for {
		now := s.opts.Clock.Now()
		next := sched.Next(now)
		select {
		case <-ctx.Done():
			return
		case <-s.opts.Clock.After(next.Sub(now)):
		}
		if s.paused.Load() {
			continue
		}
		if !entry.running.TryLock() {
			s.log.Info("recurring job still running, this run skipped", "job", name)
			continue
		}
		go func() {
			defer entry.running.Unlock()
			if _, err := s.runJob(ctx, name); err != nil && ctx.Err() == nil {
				s.log.Error(err, "recurring job failed", "job", name)
			}
		}()
	}
}

// RunRecurringJob runs a backup RecurringJob now, as if its cron had fired, and returns once
// every selected volume's backup has completed (or failed) and retention has pruned; it
// returns the names of the backups made. Tests use it instead of waiting for a cron.
func (s *Sim) RunRecurringJob(ctx context.Context, name string) ([]string, error) {
	s.mu.Lock()
	entry := s.crons[name]
	s.mu.Unlock()
	if entry != nil {
		entry.running.Lock()
		defer entry.running.Unlock()
	}
	return s.runJob(ctx, name)
}

// runJob is app/recurringjob for the backup tasks (REFERENCE §4): it selects the volumes bound
// to the job by label or group, skips those with restoreRequired ("Bypassed to create job for
// %v volume during restoring from the backup"), faulted ones and, for task backup, detached
// ones unless the setting allow-recurring-job-while-volume-detached is true; backs up at most
// spec.concurrency volumes at once; and after each backup deletes the job's backups of that
// volume beyond spec.retain, oldest first.
func (s *Sim) runJob(ctx context.Context, name string) ([]string, error) {
	var job longhorn.RecurringJob
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: name}, &job); err != nil {
		return nil, fmt.Errorf("run recurring job %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	if !isBackupTask(job.Spec.Task) {
		return nil, fmt.Errorf("run recurring job %s in cluster %s: task %q is not simulated", name, s.opts.Cluster, job.Spec.Task)
	}
	jobName := job.Spec.Name
	if jobName == "" {
		jobName = job.Name
	}
	allowDetached := job.Spec.Task == longhorn.RecurringJobTaskBackupForceCreate
	if !allowDetached {
		var err error
		if allowDetached, err = s.settingBool(ctx, settingAllowDetachedRecurringJob); err != nil {
			return nil, err
		}
	}
	var list longhorn.VolumeList
	if err := s.api.List(ctx, &list, client.InNamespace(s.opts.Namespace)); err != nil {
		return nil, fmt.Errorf("run recurring job %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	var vols []*longhorn.Volume
	for i := range list.Items {
		v := &list.Items[i]
		if !jobSelectsVolume(&job, v.Labels) {
			continue
		}
		switch {
		case v.Status.RestoreRequired:
			s.log.Info(fmt.Sprintf("Bypassed to create job for %v volume during restoring from the backup", v.Name), "job", name)
		case v.Status.Robustness == longhorn.VolumeRobustnessFaulted:
			s.log.Info("volume faulted, job skipped", "job", name, "volume", v.Name)
		case v.Status.State != longhorn.VolumeStateAttached && !allowDetached:
			s.log.Info(fmt.Sprintf("Cannot create job for %v volume in state %v", v.Name, v.Status.State), "job", name)
		default:
			vols = append(vols, v)
		}
	}
	patch := client.MergeFrom(job.DeepCopy())
	job.Status.ExecutionCount++
	job.Status.OwnerID = s.node
	if err := s.api.Status().Patch(ctx, &job, patch); err != nil {
		return nil, fmt.Errorf("count run of recurring job %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	concurrency := job.Spec.Concurrency
	if concurrency <= 0 {
		concurrency = longhorn.DefaultRecurringJobConcurrency
	}
	retain := max(job.Spec.Retain, 1)
	sem := make(chan struct{}, concurrency)
	var (
		mu    sync.Mutex
		made  []string
		errs  []error
		group sync.WaitGroup
	)
	for _, v := range vols {
		group.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			b, err := s.backupForJob(ctx, v, jobName, job.Spec.Labels, retain)
			mu.Lock()
			defer mu.Unlock()
			if b != "" {
				made = append(made, b)
			}
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	group.Wait()
	slices.Sort(made)
	return made, errors.Join(errs...)
}

// backupForJob backs up one volume for a job, waits for the backup, then prunes the job's
// backups and snapshots (doRecurringBackup).
func (s *Sim) backupForJob(ctx context.Context, v *longhorn.Volume, job string, labels map[string]string, retain int) (string, error) {
	name, err := s.createBackup(ctx, v, job, labels)
	if err != nil {
		return "", err
	}
	if err := s.waitBackup(ctx, name); err != nil {
		return name, err
	}
	if err := s.prune(ctx, v, job, retain); err != nil {
		return name, err
	}
	var b longhorn.Backup
	if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: name}, &b); err != nil {
		return name, fmt.Errorf("get backup %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	return name, s.cleanupJobSnapshots(ctx, v, job, b.Spec.SnapshotName, retain)
}

// cleanupJobSnapshots is doSnapshotCleanup after a backup
// (filterExpiredSnapshotsOfCurrentRecurringJob): of the volume's Snapshot CRs labelled
// RecurringJob=<job>, all but the current one are deleted when the Setting
// auto-cleanup-recurring-job-backup-snapshot is true (the default); all but the newest retain
// when it is false. So a backup job leaves one Snapshot CR per volume.
func (s *Sim) cleanupJobSnapshots(ctx context.Context, v *longhorn.Volume, job, current string, retain int) error {
	var list longhorn.SnapshotList
	if err := s.api.List(ctx, &list, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels{longhorn.LabelSnapshotVolume: v.Name}); err != nil {
		return fmt.Errorf("list snapshots of volume %s in cluster %s: %w", v.Name, s.opts.Cluster, err)
	}
	cleanup, err := s.settingBool(ctx, settingAutoCleanupRecurringJobBackupSnapshot)
	if err != nil {
		return err
	}
	var items []storeItem
	for _, snap := range list.Items {
		if snap.Status.Labels[recurringJobLabel] != job || snap.DeletionTimestamp != nil {
			continue
		}
		t, _ := time.Parse(time.RFC3339, snap.Status.CreationTime)
		items = append(items, storeItem{Name: snap.Name, Created: t})
	}
	var expired []string
	if cleanup {
		for _, it := range items {
			if it.Name != current {
				expired = append(expired, it.Name)
			}
		}
	} else {
		expired = expiredBackups(items, retain)
	}
	for _, n := range expired {
		if err := s.deleteSnapshotCR(ctx, n); err != nil {
			return err
		}
		s.log.Info(fmt.Sprintf("Cleaned up snapshot CR %v for %v", n, v.Name), "job", job)
	}
	return nil
}

// waitBackup waits for a Backup to be Completed (nil) or Error.
func (s *Sim) waitBackup(ctx context.Context, name string) error {
	for {
		var b longhorn.Backup
		if err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: name}, &b); err != nil {
			return fmt.Errorf("wait for backup %s in cluster %s: %w", name, s.opts.Cluster, err)
		}
		switch b.Status.State {
		case longhorn.BackupStateCompleted:
			return nil
		case longhorn.BackupStateError, longhorn.BackupStateUnknown:
			return fmt.Errorf("failed to create backup %v: %v", name, b.Status.Error)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.opts.Clock.After(100 * time.Millisecond):
		}
	}
}

// storeItem is a backup with its creation time, for retention.
type storeItem struct {
	Name    string
	Created time.Time
}

// expiredBackups is filterExpiredItems: all but the newest retain, by creation time.
func expiredBackups(items []storeItem, retain int) []string {
	if len(items) <= retain {
		return nil
	}
	sorted := slices.Clone(items)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].Created.Equal(sorted[j].Created) {
			return sorted[i].Created.Before(sorted[j].Created)
		}
		return sorted[i].Name < sorted[j].Name
	})
	var out []string
	for _, it := range sorted[:len(sorted)-retain] {
		out = append(out, it.Name)
	}
	return out
}

// prune is listBackupsForCleanup plus the delete action: the job's backups of the volume in
// the store (label RecurringJob=<job>) beyond retain are deleted through their Backup CRs,
// whose finalizer removes them from the store; one without a CR is removed directly.
func (s *Sim) prune(ctx context.Context, v *longhorn.Volume, job string, retain int) error {
	if err := s.storeErr(); err != nil {
		return fmt.Errorf("prune backups of volume %s in cluster %s: %w", v.Name, s.opts.Cluster, err)
	}
	names, err := s.opts.Store.BackupNames(v.Name)
	if err != nil {
		return err
	}
	var items []storeItem
	for _, n := range names {
		sb, err := s.opts.Store.Backup(v.Name, n)
		if err != nil {
			return err
		}
		if sb.Labels[recurringJobLabel] != job {
			continue
		}
		t, err := time.Parse(time.RFC3339, sb.CreatedTime)
		if err != nil {
			s.log.Info("backup with unreadable creation time skipped by retention", "backup", n)
			continue
		}
		items = append(items, storeItem{Name: n, Created: t})
	}
	for _, n := range expiredBackups(items, retain) {
		b := &longhorn.Backup{}
		b.Name, b.Namespace = n, s.opts.Namespace
		err := s.api.Delete(ctx, b)
		if apierrors.IsNotFound(err) {
			err = s.opts.Store.DeleteBackup(v.Name, n)
		}
		if err != nil {
			return fmt.Errorf("cleaned up backup %v failed for %v: %w", n, v.Name, err)
		}
		s.log.Info(fmt.Sprintf("Cleaned up backup %v for %v", n, v.Name), "job", job)
	}
	return nil
}
