package longhornsim

import (
	"context"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/drplan/drplan/internal/longhorn"
)

// Recurring-job labels on a Volume (REFERENCE §4, §10.7, §10.8), ported from longhorn-manager
// rather than taken from internal/longhorn, whose predicates are the agent's.

// Label key prefixes without their slash, as types.LonghornLabelRecurringJobKeyPrefixFmt makes
// them: "recurring-job.longhorn.io" and "recurring-job-group.longhorn.io".
const (
	recurringJobKeyPrefix      = "recurring-job.longhorn.io"
	recurringJobGroupKeyPrefix = "recurring-job-group.longhorn.io"
)

// isRecurringJobLabel is types.IsRecurringJobLabel: a job or group label, not the source label.
func isRecurringJobLabel(key string) bool {
	if key == longhorn.RecurringJobSourceLabel {
		return false
	}
	return strings.HasPrefix(key, recurringJobKeyPrefix) || strings.HasPrefix(key, recurringJobGroupKeyPrefix)
}

// hasRecurringJobLabels is the test of datastore.labelRecurringJobDefault: any key with either
// prefix, of any value and the source label included, keeps the default group off
// (REFERENCE §10.7).
func hasRecurringJobLabels(labels map[string]string) bool {
	for k := range labels {
		if strings.HasPrefix(k, recurringJobKeyPrefix) || strings.HasPrefix(k, recurringJobGroupKeyPrefix) {
			return true
		}
	}
	return false
}

// syncRecurringJobLabels is syncRecurringJobLabelsToTargetResource (recurring_job_controller.go):
// target's job and group labels become exactly source's.
func syncRecurringJobLabels(target, source map[string]string) {
	for k, v := range target {
		if isRecurringJobLabel(k) && source[k] != v {
			delete(target, k)
		}
	}
	for k, v := range source {
		if isRecurringJobLabel(k) {
			target[k] = v
		}
	}
}

// jobSelectsVolume is the job runner's selection (app/recurringjob, REFERENCE §4): a volume
// labelled with the job (by spec.name, metadata.name when empty) or one of its groups, valued
// enabled.
func jobSelectsVolume(job *longhorn.RecurringJob, labels map[string]string) bool {
	name := job.Spec.Name
	if name == "" {
		name = job.Name
	}
	if labels[longhorn.RecurringJobLabel(name)] == longhorn.LabelValueEnabled {
		return true
	}
	for _, g := range job.Spec.Groups {
		if labels[longhorn.RecurringJobGroupLabel(g)] == longhorn.LabelValueEnabled {
			return true
		}
	}
	return false
}

// fixupVolumeMetadata is VolumeController.updateRecurringJobs, given the PVC bound to the volume
// (syncKubernetesStatus), and what Longhorn's mutator puts
// on every volume (the mutator is absent when the simulator runs without webhooks): the
// longhorn.io finalizer and the longhornvolume label; the job labels of the volume's PVC when
// that PVC carries recurring-job.longhorn.io/source: enabled (syncPVCRecurringJobLabels, on
// every sync: a job label put on the Volume alone goes, one removed from it alone comes back);
// then the default group when no job or group label is left (FixupRecurringJob). It reports
// whether it patched; a patch that fails (the admission webhooks deny every update of a standby
// whose fromBackup Backup CR is gone) is logged and the sync goes on, as Longhorn's
// updateRecurringJobs ignores its UpdateVolume error.
func (s *Sim) fixupVolumeMetadata(ctx context.Context, v *longhorn.Volume, pvc *corev1.PersistentVolumeClaim) bool {
	cur := v.DeepCopy()
	controllerutil.AddFinalizer(cur, finalizer)
	cur.Labels = maps.Clone(cur.Labels)
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	cur.Labels[longhorn.LabelLonghornVolume] = autoCorrectName(v.Name, nameMaximumLength)
	if src := recurringJobSourcePVC(pvc); src != nil {
		syncRecurringJobLabels(cur.Labels, src.Labels)
	}
	if !hasRecurringJobLabels(cur.Labels) {
		cur.Labels[longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup)] = longhorn.LabelValueEnabled
	}
	if equalJSON(cur.ObjectMeta, v.ObjectMeta) {
		return false
	}
	if err := s.api.Patch(ctx, cur, client.MergeFrom(v)); err != nil {
		s.log.Info("update of volume labels failed", "volume", v.Name, "error", err.Error())
		return false
	}
	return true
}
