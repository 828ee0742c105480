package longhornsim

import (
	"context"
	"fmt"
	"net/url"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

// pausedRequeue is how often a paused simulator looks again.
const pausedRequeue = time.Second

// pollTimer is longhorn-manager's BackupStoreTimer for one BackupTarget (REFERENCE §2.1): every
// pollInterval it sets the target's spec.syncRequestedAt to now.
type pollTimer struct {
	interval time.Duration
	cancel   context.CancelFunc
}

func (p *pollTimer) stop() { p.cancel() }

// ensurePollTimer starts, restarts or stops the target's timer as BackupTargetController
// does: none for a zero interval or an empty URL, a new one when the interval changes.
func (s *Sim) ensurePollTimer(bt *longhorn.BackupTarget) {
	interval := time.Duration(0)
	if bt.Spec.PollInterval != nil {
		interval = bt.Spec.PollInterval.Duration
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.polls[bt.Name]
	if cur != nil && (interval == 0 || cur.interval != interval || bt.Spec.BackupTargetURL == "" || bt.DeletionTimestamp != nil) {
		cur.stop()
		delete(s.polls, bt.Name)
		cur = nil
	}
	if cur != nil || interval == 0 || bt.Spec.BackupTargetURL == "" || bt.DeletionTimestamp != nil || s.runCtx == nil {
		return
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	s.polls[bt.Name] = &pollTimer{interval: interval, cancel: cancel}
	go s.runPollTimer(ctx, bt.Name, interval)
}

func (s *Sim) runPollTimer(ctx context.Context, name string, interval time.Duration) {
	t := s.opts.Clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if s.paused.Load() {
			continue
		}
		bt := &longhorn.BackupTarget{}
		bt.Name, bt.Namespace = name, s.opts.Namespace
		patch := fmt.Sprintf(`{"spec":{"syncRequestedAt":%q}}`, s.now().UTC().Format(time.RFC3339))
		if err := s.api.Patch(ctx, bt, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil && ctx.Err() == nil {
			s.log.Error(err, "poll backup target failed", "backupTarget", name)
		}
	}
}

// reconcileBackupTarget is BackupTargetController.reconcile (REFERENCE §2.1, §3.3): it keeps
// the poll timer, and when a sync is due (spec.syncRequestedAt after status.lastSyncedAt, or
// never synced) probes the store, flips availability (and returns: the next trigger syncs, as
// Longhorn does since issue #11337), then creates the BackupVolume CRs of the volumes in the
// store, deletes (CR only) those gone from it, requests a sync of each one present, and sets
// status.lastSyncedAt.
func (s *Sim) reconcileBackupTarget(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if s.paused.Load() {
		return ctrl.Result{RequeueAfter: pausedRequeue}, nil
	}
	c := s.mgr.GetClient()
	var bt longhorn.BackupTarget
	if err := c.Get(ctx, req.NamespacedName, &bt); err != nil {
		if apierrors.IsNotFound(err) {
			s.mu.Lock()
			if p := s.polls[req.Name]; p != nil {
				p.stop()
				delete(s.polls, req.Name)
			}
			s.mu.Unlock()
			return ctrl.Result{}, s.deleteBackupVolumesOf(ctx, req.Name, nil)
		}
		return ctrl.Result{}, fmt.Errorf("get backup target %s in cluster %s: %w", req.Name, s.opts.Cluster, err)
	}
	s.ensurePollTimer(&bt)
	if bt.Status.LastSyncedAt != nil && !after(bt.Spec.SyncRequestedAt, bt.Status.LastSyncedAt) {
		return ctrl.Result{}, nil
	}
	orig := bt.DeepCopy()
	syncTime := s.now()
	status := func() (ctrl.Result, error) {
		if err := c.Status().Patch(ctx, &bt, client.MergeFrom(orig)); err != nil {
			return ctrl.Result{}, fmt.Errorf("update status of backup target %s in cluster %s: %w", bt.Name, s.opts.Cluster, err)
		}
		return ctrl.Result{}, nil
	}
	if bt.Spec.BackupTargetURL == "" {
		bt.Status.Available = false
		bt.Status.Conditions = setCondition(bt.Status.Conditions, longhorn.BackupTargetConditionTypeUnavailable,
			longhorn.ConditionStatusTrue, longhorn.BackupTargetConditionReasonUnavailable, "backup target URL is empty", s.opts.Clock.Now())
		if err := s.deleteBackupVolumesOf(ctx, bt.Name, nil); err != nil {
			return ctrl.Result{}, err
		}
		return status()
	}
	if err := s.probe(bt.Spec.BackupTargetURL); err != nil {
		bt.Status.Available = false
		bt.Status.Conditions = setCondition(bt.Status.Conditions, longhorn.BackupTargetConditionTypeUnavailable,
			longhorn.ConditionStatusTrue, longhorn.BackupTargetConditionReasonUnavailable,
			fmt.Sprintf("failed to list system backups in %v: %v", bt.Spec.BackupTargetURL, err), s.opts.Clock.Now())
		s.log.Info("backup target unavailable", "backupTarget", bt.Name, "error", err.Error())
		return status()
	}
	if !bt.Status.Available {
		bt.Status.Available = true
		bt.Status.Conditions = setCondition(bt.Status.Conditions, longhorn.BackupTargetConditionTypeUnavailable,
			longhorn.ConditionStatusFalse, "", "", s.opts.Clock.Now())
		return status()
	}
	if err := s.syncBackupVolumes(ctx, &bt, syncTime); err != nil {
		return ctrl.Result{}, err
	}
	bt.Status.LastSyncedAt = syncTime
	return status()
}

// probe checks that a target URL names the store and that this cluster reaches it. The
// simulator knows one store; any other URL is unreachable.
func (s *Sim) probe(targetURL string) error {
	if !sameStore(targetURL, s.opts.Store.URL()) {
		return fmt.Errorf("cannot reach %s: the simulator's only store is %s", targetURL, s.opts.Store.URL())
	}
	return s.storeErr()
}

// sameStore compares target URLs without their query options (nfsOptions, ...).
func sameStore(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	if errA != nil || errB != nil {
		return false
	}
	ua.RawQuery, ub.RawQuery = "", ""
	return ua.String() == ub.String()
}

// syncBackupVolumes is BackupTargetController.syncBackupVolume.
func (s *Sim) syncBackupVolumes(ctx context.Context, bt *longhorn.BackupTarget, syncTime *metav1.Time) error {
	remote, err := s.opts.Store.VolumeNames()
	if err != nil {
		return fmt.Errorf("sync backup target %s in cluster %s: %w", bt.Name, s.opts.Cluster, err)
	}
	inStore := map[string]bool{}
	for _, n := range remote {
		inStore[n] = true
	}
	var list longhorn.BackupVolumeList
	if err := s.mgr.GetClient().List(ctx, &list, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels{longhorn.LabelBackupTarget: bt.Name}); err != nil {
		return fmt.Errorf("sync backup target %s in cluster %s: %w", bt.Name, s.opts.Cluster, err)
	}
	inCluster := map[string]*longhorn.BackupVolume{}
	for i := range list.Items {
		inCluster[list.Items[i].Spec.VolumeName] = &list.Items[i]
	}
	for _, vol := range remote {
		if inCluster[vol] != nil {
			continue
		}
		bv := &longhorn.BackupVolume{
			ObjectMeta: metav1.ObjectMeta{
				Name: longhorn.BackupVolumeName(vol, bt.Name), Namespace: s.opts.Namespace,
				Labels:          longhorn.BackupVolumeLabels(bt.Name, vol),
				OwnerReferences: []metav1.OwnerReference{ownerRef("BackupTarget", bt.Name, bt.UID)},
			},
			Spec: longhorn.BackupVolumeSpec{BackupTargetName: bt.Name, VolumeName: vol},
		}
		if err := s.api.Create(ctx, bv); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create backup volume %s/%s in cluster %s from backup target %s: %w", bv.Name, vol, s.opts.Cluster, bt.Name, err)
		}
	}
	if err := s.deleteBackupVolumesOf(ctx, bt.Name, inStore); err != nil {
		return err
	}
	for vol, bv := range inCluster {
		if !inStore[vol] {
			continue
		}
		patch := fmt.Sprintf(`{"spec":{"syncRequestedAt":%q}}`, syncTime.UTC().Format(time.RFC3339))
		if err := s.api.Patch(ctx, bv, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("request sync of backup volume %s in cluster %s: %w", bv.Name, s.opts.Cluster, err)
		}
	}
	return nil
}

// deleteBackupVolumesOf deletes, CR only, the BackupVolume CRs of a target whose volume is not
// in keep (all of them when keep is nil).
func (s *Sim) deleteBackupVolumesOf(ctx context.Context, target string, keep map[string]bool) error {
	var list longhorn.BackupVolumeList
	if err := s.mgr.GetClient().List(ctx, &list, client.InNamespace(s.opts.Namespace),
		client.MatchingLabels{longhorn.LabelBackupTarget: target}); err != nil {
		return fmt.Errorf("list backup volumes of backup target %s in cluster %s: %w", target, s.opts.Cluster, err)
	}
	for i := range list.Items {
		bv := &list.Items[i]
		if keep[bv.Spec.VolumeName] || bv.DeletionTimestamp != nil {
			continue
		}
		s.log.Info("deleting backup volume not in backup store", "backupVolume", bv.Name)
		if err := s.deleteCROnly(ctx, bv); err != nil {
			return err
		}
	}
	return nil
}

// deleteCROnly labels an object longhorn.io/delete-custom-resource-only and deletes it, so that
// its finalizer keeps the data in the store (REFERENCE §3.5).
func (s *Sim) deleteCROnly(ctx context.Context, obj client.Object) error {
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"true"}}}`, longhorn.LabelDeleteCustomResourceOnly)
	if err := s.api.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("label %s for deletion in cluster %s: %w", obj.GetName(), s.opts.Cluster, err)
	}
	if err := s.api.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s in cluster %s: %w", obj.GetName(), s.opts.Cluster, err)
	}
	return nil
}

// after reports whether a is set and after b (a sync is due), at the API's second precision.
func after(a, b *metav1.Time) bool {
	if a == nil {
		return false
	}
	if b == nil {
		return true
	}
	return a.After(b.Time)
}

func ownerRef(kind, name string, uid types.UID) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: longhorn.SchemeGroupVersion.String(), Kind: kind, Name: name, UID: uid}
}

// setCondition is Longhorn's types.SetCondition: the transition time moves only when the
// status changes; nothing else is stamped, so an unchanged condition writes nothing.
func setCondition(conds []longhorn.Condition, typ string, status longhorn.ConditionStatus, reason, message string, now time.Time) []longhorn.Condition {
	for i := range conds {
		if conds[i].Type != typ {
			continue
		}
		if conds[i].Status != status {
			conds[i].LastTransitionTime = longhorn.NewTimestamp(now)
		}
		conds[i].Status, conds[i].Reason, conds[i].Message = status, reason, message
		return conds
	}
	return append(conds, longhorn.Condition{Type: typ, Status: status, Reason: reason, Message: message, LastTransitionTime: longhorn.NewTimestamp(now)})
}
