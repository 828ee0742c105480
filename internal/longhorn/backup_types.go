package longhorn

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupState is Backup.status.state.
type BackupState string

// Backup states (REFERENCE §3.1).
const (
	BackupStateNew        BackupState = ""
	BackupStatePending    BackupState = "Pending"
	BackupStateInProgress BackupState = "InProgress"
	BackupStateCompleted  BackupState = "Completed"
	BackupStateError      BackupState = "Error"
	BackupStateUnknown    BackupState = "Unknown"
	BackupStateDeleting   BackupState = "Deleting"
)

// BackupMode is Backup.spec.backupMode.
//
// +kubebuilder:validation:Enum=full;incremental;""
type BackupMode string

// Backup modes; Longhorn's mutator turns "" into incremental.
const (
	BackupModeFull        BackupMode = "full"
	BackupModeIncremental BackupMode = "incremental"
)

// BackupSpec is the part of Longhorn's BackupSpec that drplan uses (REFERENCE §3.1).
type BackupSpec struct {
	// SyncRequestedAt asks Longhorn to re-read the backup from the store.
	//
	// +nullable
	SyncRequestedAt *metav1.Time `json:"syncRequestedAt,omitempty"`
	// SnapshotName is the snapshot backed up; empty for backups pulled from the store.
	SnapshotName string `json:"snapshotName,omitempty"`
	// Labels are applied to the backup in the store.
	Labels map[string]string `json:"labels,omitempty"`
	// BackupMode is full or incremental.
	BackupMode BackupMode `json:"backupMode,omitempty"`
	// BackupBlockSize is the store's block size for the backup: 0 for the legacy 2 MiB, and
	// BackupBlockSizeInvalid when Longhorn could not read the backup's config when it pulled it
	// (REFERENCE §10.11); a standby created from such a backup is refused. A string on the
	// wire.
	//
	// +kubebuilder:validation:Type=string
	BackupBlockSize int64 `json:"backupBlockSize,string,omitempty"`
}

// BackupBlockSizeInvalid is BackupSpec.BackupBlockSize of a backup whose config Longhorn could
// not read.
const BackupBlockSizeInvalid int64 = -1

// Usable reports whether a standby volume can be created from the backup: it is completed (a
// backup still being written is listed with an empty state, REFERENCE §10.10) and its block
// size was read (§10.11).
func (b *Backup) Usable() bool {
	return b.IsCompleted() && b.Spec.BackupBlockSize != BackupBlockSizeInvalid
}

// BackupStatus is the part of Longhorn's BackupStatus that drplan uses (REFERENCE §3.1).
type BackupStatus struct {
	// OwnerID is the node whose longhorn-manager reconciles the backup.
	OwnerID string `json:"ownerID,omitempty"`
	// State is Completed once the backup is in the store and Longhorn has read it.
	State BackupState `json:"state,omitempty"`
	// Progress is the upload progress in percent.
	Progress int `json:"progress,omitempty"`
	// Error is the backup's error message.
	Error string `json:"error,omitempty"`
	// URL is the backup's URL (REFERENCE §3.4): what a standby volume's spec.fromBackup takes.
	URL string `json:"url,omitempty"`
	// SnapshotName is the snapshot the backup was made from.
	SnapshotName string `json:"snapshotName,omitempty"`
	// SnapshotCreatedAt is the snapshot's creation time: the point in time the backup holds.
	//
	// +optional
	SnapshotCreatedAt Timestamp `json:"snapshotCreatedAt,omitzero"`
	// BackupCreatedAt is when the upload finished.
	//
	// +optional
	BackupCreatedAt Timestamp `json:"backupCreatedAt,omitzero"`
	// Size is the backup's size in bytes, a decimal string.
	Size string `json:"size,omitempty"`
	// Labels are the backup's labels in the store.
	//
	// +nullable
	Labels map[string]string `json:"labels,omitempty"`
	// VolumeName is the backed-up volume's name: the backup volume's name in the store.
	VolumeName string `json:"volumeName,omitempty"`
	// VolumeSize is the backed-up volume's size in bytes, a decimal string ("" until read).
	VolumeSize string `json:"volumeSize,omitempty"`
	// VolumeCreated is when the backed-up volume was created.
	//
	// +optional
	VolumeCreated Timestamp `json:"volumeCreated,omitzero"`
	// LastSyncedAt is when Longhorn last read the backup from the store.
	//
	// +nullable
	LastSyncedAt *metav1.Time `json:"lastSyncedAt,omitempty"`
	// CompressionMethod is the backup's compression method.
	CompressionMethod string `json:"compressionMethod,omitempty"`
	// NewlyUploadedDataSize is the size of the blocks this backup uploaded, a decimal string. The
	// JSON key really is "newlyUploadDataSize".
	NewlyUploadedDataSize string `json:"newlyUploadDataSize,omitempty"`
	// ReUploadedDataSize is the size of the blocks this backup uploaded again.
	ReUploadedDataSize string `json:"reUploadedDataSize,omitempty"`
	// BackupTargetName is the BackupTarget the backup belongs to; a standby volume's creation
	// needs it (REFERENCE §1.5).
	BackupTargetName string `json:"backupTargetName,omitempty"`
}

// Backup is one backup of a volume in a backup store (backups.longhorn.io). Its name is
// "backup-" and 16 hex digits, the same in every cluster that reads the store.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=lhb
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="SnapshotName",type=string,JSONPath=`.status.snapshotName`
// +kubebuilder:printcolumn:name="SnapshotCreatedAt",type=string,JSONPath=`.status.snapshotCreatedAt`
// +kubebuilder:printcolumn:name="BackupTarget",type=string,JSONPath=`.status.backupTargetName`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="LastSyncedAt",type=string,JSONPath=`.status.lastSyncedAt`
type Backup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the wanted state.
	Spec BackupSpec `json:"spec,omitempty"`
	// Status is the observed state, written by Longhorn.
	Status BackupStatus `json:"status,omitempty"`
}

// BackupList is a list of Backups.
//
// +kubebuilder:object:root=true
type BackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the backups.
	Items []Backup `json:"items"`
}
