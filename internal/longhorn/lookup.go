package longhorn

import (
	"fmt"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SyncDue reports whether a sync request is pending as Longhorn's BackupTarget and BackupVolume
// controllers see it: never synced, or requested after the last sync (REFERENCE §2.1).
func SyncDue(requestedAt, lastSyncedAt *metav1.Time) bool {
	if lastSyncedAt == nil || lastSyncedAt.IsZero() {
		return true
	}
	return requestedAt != nil && requestedAt.After(lastSyncedAt.Time)
}

// SyncDue reports whether the backup target has a sync pending.
func (t *BackupTarget) SyncDue() bool {
	return SyncDue(t.Spec.SyncRequestedAt, t.Status.LastSyncedAt)
}

// SyncDue reports whether the backup volume has a sync pending.
func (bv *BackupVolume) SyncDue() bool {
	return SyncDue(bv.Spec.SyncRequestedAt, bv.Status.LastSyncedAt)
}

// PollInterval returns the target's poll interval; zero (also when unset, as Longhorn reads a
// missing field) means the poll is off. Longhorn creates the default target with
// DefaultBackupstorePollInterval.
func (t *BackupTarget) PollInterval() time.Duration {
	if t.Spec.PollInterval == nil {
		return 0
	}
	return t.Spec.PollInterval.Duration
}

// VolumeSizeBytes parses status.volumeSize; ok is false while it is unset or not a number.
func (b *Backup) VolumeSizeBytes() (size int64, ok bool) {
	n, err := strconv.ParseInt(b.Status.VolumeSize, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// BackupVolumeName returns the name of the backup volume (in the store) a Backup belongs to:
// its backup-volume label, else status.volumeName.
func (b *Backup) BackupVolumeName() string {
	if n := b.Labels[LabelBackupVolume]; n != "" {
		return n
	}
	return b.Status.VolumeName
}

// FindBackupVolume returns the BackupVolume of volume (its name in the store) in target, found
// by labels as Longhorn does, or nil. More than one match is an error, as in Longhorn, where it
// stalls the volume's sync (REFERENCE §3.2). It scans bvs: the agent asks
// observed.State.BackupVolumeOf, which is indexed.
func FindBackupVolume(bvs []BackupVolume, target, volume string) (*BackupVolume, error) {
	var found *BackupVolume
	for i := range bvs {
		bv := &bvs[i]
		if bv.Labels[LabelBackupTarget] != target || bv.Labels[LabelBackupVolume] != volume {
			continue
		}
		if found != nil {
			return nil, DuplicateBackupVolumeError(target, volume, found.Name, bv.Name)
		}
		found = bv
	}
	return found, nil
}

// DuplicateBackupVolumeError is the error of finding two BackupVolumes, first and second, of
// volume in target.
func DuplicateBackupVolumeError(target, volume, first, second string) error {
	return fmt.Errorf("find backup volume %s in backup target %s: found more than one (%s, %s)", volume, target, first, second)
}

// NewestCompletedBackup returns the newest Completed backup of volume (its name in the store)
// among backups, by BackupNewer; nil when there is none. Backups being deleted are skipped. It
// scans backups: the agent asks observed.State.NewestCompletedBackup, which is indexed.
func NewestCompletedBackup(backups []Backup, volume string) *Backup {
	var newest *Backup
	for i := range backups {
		b := &backups[i]
		if !b.Usable() || b.BackupVolumeName() != volume {
			continue
		}
		if newest == nil || BackupNewer(b, newest) {
			newest = b
		}
	}
	return newest
}

// IsCompleted reports whether the backup is Completed and not being deleted.
func (b *Backup) IsCompleted() bool {
	return b.Status.State == BackupStateCompleted && b.DeletionTimestamp == nil
}

// BackupNewer reports whether backup a is newer than b: by snapshot time, then upload time, then
// name.
func BackupNewer(a, b *Backup) bool {
	if !a.Status.SnapshotCreatedAt.Equal(b.Status.SnapshotCreatedAt) {
		return a.Status.SnapshotCreatedAt.After(b.Status.SnapshotCreatedAt)
	}
	if !a.Status.BackupCreatedAt.Equal(b.Status.BackupCreatedAt) {
		return a.Status.BackupCreatedAt.After(b.Status.BackupCreatedAt)
	}
	return a.Name > b.Name
}

// DegradedActivationAllowed reads the setting allow-volume-creation-with-degraded-availability
// as Longhorn does: a missing setting takes Longhorn's default, true (REFERENCE §5); a value
// that is not a boolean is an error (Longhorn's gate then does not pass).
func DegradedActivationAllowed(s *Setting) (bool, error) {
	if s == nil {
		return true, nil
	}
	v, err := strconv.ParseBool(s.Value)
	if err != nil {
		return false, fmt.Errorf("read setting %s: %w", SettingAllowDegradedAvailability, err)
	}
	return v, nil
}
