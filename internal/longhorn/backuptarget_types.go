package longhorn

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupTarget condition type and reason (REFERENCE §3.3).
const (
	BackupTargetConditionTypeUnavailable   = "Unavailable"
	BackupTargetConditionReasonUnavailable = "Unavailable"
)

// BackupTargetSpec is Longhorn's BackupTargetSpec (REFERENCE §3.3). Every field is omitempty:
// an empty URL makes Longhorn drop every BackupVolume CR of the target and a zero poll interval
// stops its poll, so neither may be sent by accident.
type BackupTargetSpec struct {
	// BackupTargetURL is the store's URL, for example s3://bucket@region/path or nfs://host:/path.
	BackupTargetURL string `json:"backupTargetURL,omitempty"`
	// CredentialSecret is the name of the Secret with the store's credentials.
	CredentialSecret string `json:"credentialSecret,omitempty"`
	// PollInterval is how often Longhorn reads the store; 0 disables the poll.
	PollInterval *metav1.Duration `json:"pollInterval,omitempty"`
	// SyncRequestedAt asks Longhorn to read the store now; a sync is due while it is after
	// status.lastSyncedAt.
	//
	// +nullable
	SyncRequestedAt *metav1.Time `json:"syncRequestedAt,omitempty"`
}

// BackupTargetStatus is Longhorn's BackupTargetStatus.
type BackupTargetStatus struct {
	// OwnerID is the node whose longhorn-manager reconciles the backup target.
	OwnerID string `json:"ownerID,omitempty"`
	// Available is true when the store answered the last probe.
	Available bool `json:"available,omitempty"`
	// Conditions holds Unavailable with the reason when the store cannot be reached.
	//
	// +nullable
	Conditions []Condition `json:"conditions,omitempty"`
	// LastSyncedAt is when Longhorn last read the store.
	//
	// +nullable
	LastSyncedAt *metav1.Time `json:"lastSyncedAt,omitempty"`
}

// BackupTarget is a backup store Longhorn reads and writes (backuptargets.longhorn.io); the one
// named DefaultBackupTargetName exists from install on.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=lhbt
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.backupTargetURL`
// +kubebuilder:printcolumn:name="PollInterval",type=string,JSONPath=`.spec.pollInterval`
// +kubebuilder:printcolumn:name="Available",type=boolean,JSONPath=`.status.available`
// +kubebuilder:printcolumn:name="LastSyncedAt",type=string,JSONPath=`.status.lastSyncedAt`
type BackupTarget struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the wanted state.
	Spec BackupTargetSpec `json:"spec,omitempty"`
	// Status is the observed state, written by Longhorn.
	Status BackupTargetStatus `json:"status,omitempty"`
}

// BackupTargetList is a list of BackupTargets.
//
// +kubebuilder:object:root=true
type BackupTargetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the backup targets.
	Items []BackupTarget `json:"items"`
}
