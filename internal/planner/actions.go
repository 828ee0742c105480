package planner

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	longhorn "github.com/drplan/drplan/internal/longhorn"
)

// Action is one change to one cluster. The executor carries it out; diff and previews print it.
type Action interface {
	// Cluster is the cluster the action changes.
	Cluster() string
	// Plan is the plan that asks for it.
	Plan() string
	// String says what the action does, in one line a reviewer reads.
	String() string
}

// Target names the cluster and plan of an action.
type Target struct {
	ClusterName string `json:"cluster"`
	PlanName    string `json:"plan"`
}

// Cluster is the cluster the action changes.
func (t Target) Cluster() string { return t.ClusterName }

// Plan is the plan that asks for the action.
func (t Target) Plan() string { return t.PlanName }

// ApplyRecurringJob creates or updates the plan's RecurringJob (server-side apply).
type ApplyRecurringJob struct {
	Target
	// Job is the wanted object.
	Job *longhorn.RecurringJob `json:"job"`
	// Create is true when the job does not exist yet.
	Create bool `json:"create"`
}

func (a *ApplyRecurringJob) String() string {
	verb := "update"
	if a.Create {
		verb = "create"
	}
	s := a.Job.Spec
	return fmt.Sprintf("%s RecurringJob %s/%s (task %s, cron %q, retain %d, concurrency %d)",
		verb, a.Job.Namespace, a.Job.Name, s.Task, s.Cron, s.Retain, s.Concurrency)
}

// PatchVolumeLabels sets or removes labels on a Volume drplan does not own (a merge patch).
type PatchVolumeLabels struct {
	Target
	Namespace string            `json:"namespace"`
	Volume    string            `json:"volume"`
	Set       map[string]string `json:"set,omitempty"`
	Remove    []string          `json:"remove,omitempty"`
	// Claim, when set, is the volume's PersistentVolumeClaim, patched with the same recurring-job
	// labels first: a claim labelled recurring-job.longhorn.io/source=enabled owns the volume's
	// job labels, and Longhorn would otherwise put its own back on the volume (REFERENCE §10.8).
	Claim *ClaimRef `json:"claim,omitempty"`
}

// ClaimRef names a PersistentVolumeClaim.
type ClaimRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// sourceClaim is the claim of a source volume whose recurring-job labels drplan changes, nil
// when Longhorn shows none.
func sourceClaim(v *longhorn.Volume) *ClaimRef {
	ks := v.Status.KubernetesStatus
	if ks.PVCName == "" || ks.Namespace == "" {
		return nil
	}
	return &ClaimRef{Namespace: ks.Namespace, Name: ks.PVCName}
}

func (a *PatchVolumeLabels) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(a.Set)) {
		parts = append(parts, fmt.Sprintf("+%s=%s", k, a.Set[k]))
	}
	for _, k := range a.Remove {
		parts = append(parts, "-"+k)
	}
	claim := ""
	if a.Claim != nil {
		claim = fmt.Sprintf(" (and its claim %s/%s)", a.Claim.Namespace, a.Claim.Name)
	}
	return fmt.Sprintf("label Volume %s/%s%s %s", a.Namespace, a.Volume, claim, strings.Join(parts, " "))
}

// CreateStandbyVolume creates a standby volume restoring from a backup, or a drill's copy of
// one (not a standby: restored once, then detached). Its spec is never applied
// again afterwards: Longhorn owns it from then on, and activation is a separate action.
type CreateStandbyVolume struct {
	Target
	Volume *longhorn.Volume `json:"volume"`
	// Backup is the name of the backup it starts from.
	Backup string `json:"backup"`
}

func (a *CreateStandbyVolume) String() string {
	what := "standby"
	if a.Volume.Labels[LabelDrill] != "" {
		what = "drill copy" // restored once, never a standby
	}
	return fmt.Sprintf("create %s Volume %s/%s from backup %s (%d replicas)",
		what, a.Volume.Namespace, a.Volume.Name, a.Backup, a.Volume.Spec.NumberOfReplicas)
}

// SyncKind is what a sync request asks Longhorn to re-read from the store.
type SyncKind string

// The objects Longhorn syncs on spec.syncRequestedAt.
const (
	SyncBackupTarget SyncKind = "BackupTarget"
	SyncBackupVolume SyncKind = "BackupVolume"
)

// RequestSync sets spec.syncRequestedAt on a BackupTarget or BackupVolume (a merge patch), so
// Longhorn reads the store now instead of at its next poll.
type RequestSync struct {
	Target
	Kind      SyncKind  `json:"kind"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	At        time.Time `json:"at"`
	// Reason says why, for logs and previews.
	Reason string `json:"reason"`
}

func (a *RequestSync) String() string {
	return fmt.Sprintf("request sync of %s %s/%s (%s)", a.Kind, a.Namespace, a.Name, a.Reason)
}
