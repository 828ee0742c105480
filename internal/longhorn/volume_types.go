package longhorn

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VolumeState is Volume.status.state (REFERENCE §1.2).
type VolumeState string

// Volume states.
const (
	VolumeStateCreating  VolumeState = "creating"
	VolumeStateAttached  VolumeState = "attached"
	VolumeStateDetached  VolumeState = "detached"
	VolumeStateAttaching VolumeState = "attaching"
	VolumeStateDetaching VolumeState = "detaching"
	VolumeStateDeleting  VolumeState = "deleting"
)

// VolumeRobustness is Volume.status.robustness, an input of the activation gate (REFERENCE §1.7).
type VolumeRobustness string

// Volume robustness values.
const (
	VolumeRobustnessHealthy  VolumeRobustness = "healthy"
	VolumeRobustnessDegraded VolumeRobustness = "degraded"
	VolumeRobustnessFaulted  VolumeRobustness = "faulted"
	VolumeRobustnessUnknown  VolumeRobustness = "unknown"
)

// VolumeFrontend is how a volume is exposed; "" for a standby volume.
//
// +kubebuilder:validation:Enum=blockdev;iscsi;nvmf;ublk;""
type VolumeFrontend string

// Volume frontends. Activation through Longhorn's REST API accepts only blockdev and iscsi; CSI
// publishes only blockdev and ublk (REFERENCE §1.1, §1.7).
const (
	VolumeFrontendBlockDev VolumeFrontend = "blockdev"
	VolumeFrontendISCSI    VolumeFrontend = "iscsi"
	VolumeFrontendNvmf     VolumeFrontend = "nvmf"
	VolumeFrontendUblk     VolumeFrontend = "ublk"
	VolumeFrontendEmpty    VolumeFrontend = ""
)

// AccessMode is Volume.spec.accessMode.
//
// +kubebuilder:validation:Enum=rwo;rwx
type AccessMode string

// Access modes.
const (
	AccessModeReadWriteOnce AccessMode = "rwo"
	AccessModeReadWriteMany AccessMode = "rwx"
)

// DataEngine is the data engine of a volume or engine.
//
// +kubebuilder:validation:Enum=v1;v2
type DataEngine string

// Data engines.
const (
	DataEngineV1 DataEngine = "v1"
	DataEngineV2 DataEngine = "v2"
)

// Volume condition types and reasons (REFERENCE §1.3).
const (
	VolumeConditionTypeScheduled           = "Scheduled"
	VolumeConditionTypeRestore             = "Restore"
	VolumeConditionTypeTooManySnapshots    = "TooManySnapshots"
	VolumeConditionTypeWaitForBackingImage = "WaitForBackingImage"

	VolumeConditionReasonRestoreInProgress = "RestoreInProgress"
	VolumeConditionReasonRestoreFailure    = "RestoreFailure"
)

// VolumeSpec is the part of Longhorn's VolumeSpec that drplan uses (REFERENCE §1.1).
type VolumeSpec struct {
	// Size is the volume size in bytes, a string on the wire. On create with FromBackup Longhorn
	// overwrites it with the backup's volume size.
	//
	// +kubebuilder:validation:Type=string
	Size int64 `json:"size,string,omitempty"`
	// Frontend exposes the volume; "" for a standby volume, a real frontend on activation.
	Frontend VolumeFrontend `json:"frontend,omitempty"`
	// FromBackup is the Backup URL (REFERENCE §3.4) a restore or standby volume starts from.
	FromBackup string `json:"fromBackup,omitempty"`
	// Standby marks a disaster-recovery (standby) volume. The JSON key is "Standby", capital S.
	// No omitempty: false is the activation request and is always meant.
	//
	// +optional
	Standby bool `json:"Standby"`
	// BackupTargetName is the BackupTarget the volume backs up to and restores from.
	BackupTargetName string `json:"backupTargetName,omitempty"`
	// NumberOfReplicas is the wanted replica count; 0 takes Longhorn's default.
	NumberOfReplicas int `json:"numberOfReplicas,omitempty"`
	// AccessMode is rwo or rwx; empty takes the backup's access mode.
	AccessMode AccessMode `json:"accessMode,omitempty"`
	// DataEngine is v1 or v2; empty means v1.
	DataEngine DataEngine `json:"dataEngine,omitempty"`
	// DisableFrontend is set by Longhorn while it attaches a restoring volume.
	DisableFrontend bool `json:"disableFrontend,omitempty"`
	// NodeID is the node the volume is attached to, set by Longhorn.
	NodeID string `json:"nodeID,omitempty"`
	// Image is the engine image, defaulted by Longhorn.
	Image string `json:"image,omitempty"`
}

// VolumeStatus is the part of Longhorn's VolumeStatus that drplan uses (REFERENCE §1.2).
type VolumeStatus struct {
	// OwnerID is the node whose longhorn-manager reconciles the volume.
	OwnerID string `json:"ownerID,omitempty"`
	// KubernetesStatus is the volume's PersistentVolume and claim as Longhorn sees them. A claim
	// labelled recurring-job.longhorn.io/source=enabled owns the volume's recurring-job labels
	// (REFERENCE §10.8).
	//
	// +optional
	KubernetesStatus KubernetesStatus `json:"kubernetesStatus,omitzero"`
	// State is attached for a healthy standby volume and detached once activation finished.
	State VolumeState `json:"state,omitempty"`
	// Robustness is healthy, degraded, faulted or unknown.
	Robustness VolumeRobustness `json:"robustness,omitempty"`
	// CurrentNodeID is the node the volume is attached to.
	CurrentNodeID string `json:"currentNodeID,omitempty"`
	// Conditions are Longhorn's volume conditions, a list (the REST API shows a map).
	//
	// +nullable
	Conditions []Condition `json:"conditions,omitempty"`
	// LastBackup is the name of the newest backup of the volume's BackupVolume.
	LastBackup string `json:"lastBackup,omitempty"`
	// LastBackupAt is the snapshot time of LastBackup.
	//
	// +optional
	LastBackupAt Timestamp `json:"lastBackupAt,omitzero"`
	// LastDegradedAt is when the volume last became degraded.
	//
	// +optional
	LastDegradedAt Timestamp `json:"lastDegradedAt,omitzero"`
	// FrontendDisabled mirrors spec.disableFrontend.
	FrontendDisabled bool `json:"frontendDisabled,omitempty"`
	// RestoreRequired is true from restore start until a restore or standby volume finishes.
	RestoreRequired bool `json:"restoreRequired,omitempty"`
	// RestoreInitiated is set once when the restore starts, never reset.
	RestoreInitiated bool `json:"restoreInitiated,omitempty"`
	// IsStandby is true from restore start of a standby volume until the activation gate passes.
	IsStandby bool `json:"isStandby,omitempty"`
	// ActualSize is the space the volume uses, in bytes.
	ActualSize int64 `json:"actualSize,omitempty"`
}

// Volume is a Longhorn volume (volumes.longhorn.io).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=lhv
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Robustness",type=string,JSONPath=`.status.robustness`
// +kubebuilder:printcolumn:name="Standby",type=boolean,JSONPath=`.spec.Standby`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.spec.size`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Volume struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the wanted state.
	Spec VolumeSpec `json:"spec,omitempty"`
	// Status is the observed state, written by Longhorn.
	Status VolumeStatus `json:"status,omitempty"`
}

// VolumeList is a list of Volumes.
//
// +kubebuilder:object:root=true
type VolumeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the volumes.
	Items []Volume `json:"items"`
}

// KubernetesStatus is the part of Longhorn's KubernetesStatus that drplan uses.
type KubernetesStatus struct {
	PVName string `json:"pvName,omitempty"`
	// Namespace and PVCName are the volume's claim; empty when it has none.
	Namespace string `json:"namespace,omitempty"`
	PVCName   string `json:"pvcName,omitempty"`
}
