package longhorn

import (
	"strings"
	"time"
)

// Defaults of a Longhorn install.
const (
	// DefaultNamespace is where Longhorn's custom resources live.
	DefaultNamespace = "longhorn-system"
	// DefaultBackupTargetName is the BackupTarget Longhorn creates at install; volumes use it when
	// spec.backupTargetName is empty.
	DefaultBackupTargetName = "default"
	// DefaultBackupstorePollInterval is the default target's poll interval (REFERENCE §2.1).
	DefaultBackupstorePollInterval = 300 * time.Second
)

// Label keys Longhorn uses to tie objects together. They are unprefixed where Longhorn's are
// (REFERENCE §1.4, §3.1, §3.2).
const (
	// LabelLonghornVolume is on every Volume, Engine and Replica, valued with the volume's name.
	LabelLonghornVolume = "longhornvolume"
	// LabelBackupVolume is the volume's name in the store: on Backup and BackupVolume CRs, and on
	// a Volume created from a backup.
	LabelBackupVolume = "backup-volume"
	// LabelBackupTarget is the BackupTarget's name, on the same objects as LabelBackupVolume.
	LabelBackupTarget = "backup-target"
	// LabelDeleteCustomResourceOnly, valued "true" on a Backup or BackupVolume CR, makes its
	// deletion remove the CR only and keep the data in the store (REFERENCE §3.5).
	LabelDeleteCustomResourceOnly = "longhorn.io/delete-custom-resource-only"
	// LabelVolumeAccessMode is the access mode Longhorn records on a backup (Backup.spec.labels).
	LabelVolumeAccessMode = "longhorn.io/volume-access-mode"
)

// Recurring-job labels on a Volume bind it to jobs and groups (REFERENCE §4).
const (
	// RecurringJobLabelPrefix prefixes a label naming one job.
	RecurringJobLabelPrefix = "recurring-job.longhorn.io/"
	// RecurringJobGroupLabelPrefix prefixes a label naming one group.
	RecurringJobGroupLabelPrefix = "recurring-job-group.longhorn.io/"
	// RecurringJobSourceLabel on a PVC, valued LabelValueEnabled, makes Longhorn copy the PVC's
	// recurring-job labels onto its Volume.
	RecurringJobSourceLabel = RecurringJobLabelPrefix + "source"
	// LabelValueEnabled is the value that binds a job or group.
	LabelValueEnabled = "enabled"
	// LabelValueDisabled binds nothing (jobs select "=enabled"), yet a job or group label of any
	// value keeps Longhorn from binding the default group.
	LabelValueDisabled = "disabled"
	// DefaultRecurringJobGroup is the group Longhorn binds to volumes that have no job or group
	// label of their own.
	DefaultRecurringJobGroup = "default"
)

// RecurringJobLabel returns the Volume label key that binds the recurring job named job.
func RecurringJobLabel(job string) string { return RecurringJobLabelPrefix + job }

// RecurringJobGroupLabel returns the Volume label key that binds the recurring-job group group.
func RecurringJobGroupLabel(group string) string { return RecurringJobGroupLabelPrefix + group }

// IsRecurringJobLabel reports whether key binds a job or a group (the source label does not).
func IsRecurringJobLabel(key string) bool {
	if key == RecurringJobSourceLabel {
		return false
	}
	return strings.HasPrefix(key, RecurringJobLabelPrefix) || strings.HasPrefix(key, RecurringJobGroupLabelPrefix)
}

// SelectsVolume reports whether job runs for a volume with volumeLabels: the volume carries
// RecurringJobLabel(job name) or RecurringJobGroupLabel(one of the job's groups), valued
// LabelValueEnabled, as Longhorn's job runner selects volumes (REFERENCE §4). The job's name is
// spec.name, or metadata.name when spec.name is empty.
func (job *RecurringJob) SelectsVolume(volumeLabels map[string]string) bool {
	name := job.Spec.Name
	if name == "" {
		name = job.Name
	}
	if volumeLabels[RecurringJobLabel(name)] == LabelValueEnabled {
		return true
	}
	for _, g := range job.Spec.Groups {
		if volumeLabels[RecurringJobGroupLabel(g)] == LabelValueEnabled {
			return true
		}
	}
	return false
}

// BackupVolumeLabels returns the labels that find the BackupVolume (and the Backups) of volume,
// the volume's name in the store, in the BackupTarget target. Look BackupVolumes up with these,
// not by name (REFERENCE §3.2).
func BackupVolumeLabels(target, volume string) map[string]string {
	return map[string]string{LabelBackupVolume: volume, LabelBackupTarget: target}
}
