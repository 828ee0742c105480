package longhorn

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupVolumeSpec is Longhorn's BackupVolumeSpec (REFERENCE §3.2).
type BackupVolumeSpec struct {
	// BackupTargetName is the BackupTarget the backup volume is in.
	//
	// +nullable
	BackupTargetName string `json:"backupTargetName,omitempty"`
	// VolumeName is the volume's name in the store (the canonical, remote name).
	VolumeName string `json:"volumeName,omitempty"`
	// SyncRequestedAt asks Longhorn to re-read the backup volume from the store; a sync is due
	// while it is after status.lastSyncedAt.
	//
	// +nullable
	SyncRequestedAt *metav1.Time `json:"syncRequestedAt,omitempty"`
}

// BackupVolumeStatus is the part of Longhorn's BackupVolumeStatus that drplan uses.
type BackupVolumeStatus struct {
	// OwnerID is the node whose longhorn-manager reconciles the backup volume.
	OwnerID string `json:"ownerID,omitempty"`
	// LastModificationTime is when the backup volume last changed in the store.
	//
	// +nullable
	LastModificationTime *metav1.Time `json:"lastModificationTime,omitempty"`
	// Size is the volume size in bytes, a decimal string.
	Size string `json:"size,omitempty"`
	// Labels are the backup volume's labels in the store.
	//
	// +nullable
	Labels map[string]string `json:"labels,omitempty"`
	// CreatedAt is when the backup volume was created in the store.
	//
	// +optional
	CreatedAt Timestamp `json:"createdAt,omitzero"`
	// LastBackupName is the newest backup's name.
	LastBackupName string `json:"lastBackupName,omitempty"`
	// LastBackupAt is the newest backup's snapshot time.
	//
	// +optional
	LastBackupAt Timestamp `json:"lastBackupAt,omitzero"`
	// DataStored is the size of the data stored, in bytes, a decimal string.
	DataStored string `json:"dataStored,omitempty"`
	// LastSyncedAt is when Longhorn last read the backup volume from the store.
	//
	// +nullable
	LastSyncedAt *metav1.Time `json:"lastSyncedAt,omitempty"`
}

// BackupVolume is a volume's backups in a backup target (backupvolumes.longhorn.io). Look it up
// by the labels backup-volume and backup-target, not by name (REFERENCE §3.2).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=lhbv
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="BackupTarget",type=string,JSONPath=`.spec.backupTargetName`
// +kubebuilder:printcolumn:name="LastBackupName",type=string,JSONPath=`.status.lastBackupName`
// +kubebuilder:printcolumn:name="LastBackupAt",type=string,JSONPath=`.status.lastBackupAt`
// +kubebuilder:printcolumn:name="LastSyncedAt",type=string,JSONPath=`.status.lastSyncedAt`
type BackupVolume struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the wanted state.
	Spec BackupVolumeSpec `json:"spec,omitempty"`
	// Status is the observed state, written by Longhorn.
	Status BackupVolumeStatus `json:"status,omitempty"`
}

// BackupVolumeList is a list of BackupVolumes.
//
// +kubebuilder:object:root=true
type BackupVolumeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the backup volumes.
	Items []BackupVolume `json:"items"`
}
