package planner

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/plans"
)

// WriteFailoverRecord creates or updates a plan's failover record, a ConfigMap in Longhorn's
// namespace (see RecordName). In the secondary it is the failover's memory: what started it and
// when each step began and ended. In the primary it is a copy written once on fencing, so that
// the old primary itself says it was failed over from.
type WriteFailoverRecord struct {
	Target
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	Record    *FailoverRecord   `json:"record"`
	// ResourceVersion is the version of the record the planner decided on; empty creates the
	// record. A record that changed since is left alone: the next pass decides again.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Event says what the write records.
	Event string `json:"event"`
}

func (a *WriteFailoverRecord) String() string {
	verb := "update"
	if a.ResourceVersion == "" {
		verb = "create"
	}
	what := "failover"
	if a.Record != nil && a.Record.Drill != "" {
		what = "drill"
	}
	return fmt.Sprintf("%s %s record ConfigMap %s/%s: %s", verb, what, a.Namespace, a.Name, a.Event)
}

// ScaleWorkload sets the replicas of a workload through its scale subresource.
type ScaleWorkload struct {
	Target
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Replicas   int32  `json:"replicas"`
	// Reason says why, for logs and previews.
	Reason string `json:"reason"`
}

func (a *ScaleWorkload) String() string {
	return fmt.Sprintf("scale %s %s/%s to %d (%s)", a.Kind, a.Namespace, a.Name, a.Replicas, a.Reason)
}

// CreateSnapshot creates a Snapshot CR (spec.createSnapshot) in the cluster that owns the
// volume: Longhorn takes the snapshot, attaching the volume for it if it is detached. Its name
// is deterministic (FinalSnapshotName); an existing one is left alone.
type CreateSnapshot struct {
	Target
	Snapshot *longhorn.Snapshot `json:"snapshot"`
	// Reason says why.
	Reason string `json:"reason"`
}

func (a *CreateSnapshot) String() string {
	return fmt.Sprintf("create Snapshot %s/%s of volume %s (%s)", a.Snapshot.Namespace, a.Snapshot.Name, a.Snapshot.Spec.Volume, a.Reason)
}

// TakeSnapshots takes the snapshots of a wave's volumes together between the wave's backup
// hooks: the pre hooks run in the cluster, then every Snapshot CR is created and waited for
// until taken, then the post hooks run (always, once a pre hook ran). Each snapshot is then
// annotated with LabelConsistency (application when every pre hook succeeded) and the hooks'
// summary. A pre hook that fails with onError Fail takes no snapshot and fails the action.
type TakeSnapshots struct {
	Target
	Wave      string               `json:"wave"`
	Hooks     *plans.BackupHooks   `json:"hooks"`
	Snapshots []*longhorn.Snapshot `json:"snapshots"`
	// Reason says why.
	Reason string `json:"reason"`
}

func (a *TakeSnapshots) String() string {
	names := make([]string, len(a.Snapshots))
	for i, s := range a.Snapshots {
		names[i] = s.Spec.Volume
	}
	return fmt.Sprintf("run wave %s's backup hooks (%d pre, %d post) around Snapshots of volumes %s (%s)",
		a.Wave, len(a.Hooks.Pre), len(a.Hooks.Post), strings.Join(names, ", "), a.Reason)
}

// Key names the action's run among the failures the executor remembers (Input.HookFailures).
func (a *TakeSnapshots) Key() string {
	first := ""
	if len(a.Snapshots) > 0 {
		first = a.Snapshots[0].Name
	}
	return a.Cluster() + "/" + a.Plan() + "/" + a.Wave + "/" + first
}

// HookFailure is a TakeSnapshots that failed lately: when, why, and when it may run again.
type HookFailure struct {
	At      time.Time `json:"at"`
	RetryAt time.Time `json:"retryAt"`
	Message string    `json:"message"`
}

// AnnotationHooks is, on a Snapshot CR taken between hooks, the hooks' one-line summary.
const AnnotationHooks = "drplan.io/hooks"

// CreateBackup creates a Backup CR of a ready Snapshot CR in the cluster that owns the volume:
// Longhorn uploads it. Its name is deterministic (FinalBackupName), so a restarted agent never
// makes a second one; an existing one is left alone.
type CreateBackup struct {
	Target
	Backup *longhorn.Backup `json:"backup"`
	// Reason says why.
	Reason string `json:"reason"`
}

func (a *CreateBackup) String() string {
	return fmt.Sprintf("create Backup %s/%s of volume %s (snapshot %s, %s)", a.Backup.Namespace, a.Backup.Name,
		a.Backup.Labels[longhorn.LabelBackupVolume], a.Backup.Spec.SnapshotName, a.Reason)
}

// ActivateVolume activates a standby volume the way Longhorn's own activate does (REFERENCE
// §1.7): first spec.syncRequestedAt on its BackupVolume (so the activation gate reads the store
// once more), then one merge patch {"spec":{"Standby":false,"frontend":...}} on the volume.
// Activation is one-way; repeating it is harmless.
type ActivateVolume struct {
	Target
	Namespace string                  `json:"namespace"`
	Volume    string                  `json:"volume"`
	Frontend  longhorn.VolumeFrontend `json:"frontend"`
	// BackupVolume is the volume's BackupVolume in the cluster; empty when it has none (the
	// sync is skipped, as Longhorn skips it).
	BackupVolume string `json:"backupVolume,omitempty"`
	// SyncAt is the syncRequestedAt written first: after the BackupVolume's lastSyncedAt at the
	// API's one-second precision, or Longhorn would ignore it (see SyncStamp).
	SyncAt time.Time `json:"syncAt,omitzero"`
	// Wave is the wave the volume belongs to.
	Wave string `json:"wave"`
}

func (a *ActivateVolume) String() string {
	sync := "no backup volume to sync"
	if a.BackupVolume != "" {
		sync = fmt.Sprintf("after a sync request of BackupVolume %s at %s", a.BackupVolume, a.SyncAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("activate Volume %s/%s of wave %s (Standby false, frontend %s, %s)", a.Namespace, a.Volume, a.Wave, a.Frontend, sync)
}

// CreatePersistentVolume creates the PersistentVolume of an activated volume, shaped like
// Longhorn's own (CSI driver driver.longhorn.io, reclaim policy Retain). Create-once.
type CreatePersistentVolume struct {
	Target
	PV *corev1.PersistentVolume `json:"pv"`
}

func (a *CreatePersistentVolume) String() string {
	s := a.PV.Spec
	return fmt.Sprintf("create PersistentVolume %s for Volume %s (%s, fsType %s, storageClass %s, reclaim %s)",
		a.PV.Name, s.CSI.VolumeHandle, s.CSI.Driver, s.CSI.FSType, s.StorageClassName, s.PersistentVolumeReclaimPolicy)
}

// CreatePersistentVolumeClaim creates the claim bound (by volumeName) to an activated volume's
// PersistentVolume. Create-once.
type CreatePersistentVolumeClaim struct {
	Target
	PVC *corev1.PersistentVolumeClaim `json:"pvc"`
}

func (a *CreatePersistentVolumeClaim) String() string {
	return fmt.Sprintf("create PersistentVolumeClaim %s/%s bound to PersistentVolume %s", a.PVC.Namespace, a.PVC.Name, a.PVC.Spec.VolumeName)
}

// DeleteRecurringJob deletes the plan's RecurringJob in the old primary (fencing): its backups
// stop. Deleting a RecurringJob deletes no backup and no data.
type DeleteRecurringJob struct {
	Target
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Reason    string `json:"reason"`
}

func (a *DeleteRecurringJob) String() string {
	return fmt.Sprintf("delete RecurringJob %s/%s (%s)", a.Namespace, a.Name, a.Reason)
}
