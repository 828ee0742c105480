package longhorn

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EngineSpec is the part of Longhorn's EngineSpec that drplan uses. The agent never writes
// engines; Longhorn (or the simulator) creates one per volume, named VolumeEngineName.
type EngineSpec struct {
	// VolumeName is the volume the engine serves.
	VolumeName string `json:"volumeName,omitempty"`
	// VolumeSize is the volume size in bytes, a string on the wire.
	//
	// +kubebuilder:validation:Type=string
	VolumeSize int64 `json:"volumeSize,string,omitempty"`
	// Active is true for the engine in use when a volume has two (upgrade, migration).
	Active bool `json:"active,omitempty"`
	// NodeID is the node the engine runs on.
	NodeID string `json:"nodeID,omitempty"`
	// Frontend is the volume's frontend.
	Frontend VolumeFrontend `json:"frontend,omitempty"`
	// DisableFrontend is true while a restore or standby volume restores.
	DisableFrontend bool `json:"disableFrontend,omitempty"`
	// DataEngine is v1 or v2.
	DataEngine DataEngine `json:"dataEngine,omitempty"`
	// BackupVolume is the name of the BackupVolume CR a restore or standby volume restores from.
	BackupVolume string `json:"backupVolume,omitempty"`
	// RequestedBackupRestore is the backup name the engine must restore; for a standby volume
	// Longhorn keeps it equal to the volume's status.lastBackup (REFERENCE §1.6).
	RequestedBackupRestore string `json:"requestedBackupRestore,omitempty"`
}

// RestoreStatus is the restore progress of one replica (Engine.status.restoreStatus).
type RestoreStatus struct {
	// IsRestoring is true while the replica restores.
	IsRestoring bool `json:"isRestoring,omitempty"`
	// LastRestored is the last backup the replica restored.
	LastRestored string `json:"lastRestored,omitempty"`
	// CurrentRestoringBackup is the backup the replica is restoring.
	CurrentRestoringBackup string `json:"currentRestoringBackup,omitempty"`
	// Progress is the restore progress in percent.
	Progress int `json:"progress,omitempty"`
	// Error is the last restore error.
	Error string `json:"error,omitempty"`
	// Filename is the file the replica restores into.
	Filename string `json:"filename,omitempty"`
	// State is the replica's restore state.
	State string `json:"state,omitempty"`
	// BackupURL is the URL of the backup being restored.
	BackupURL string `json:"backupURL,omitempty"`
}

// PurgeStatus is the snapshot-purge progress of one replica (Engine.status.purgeStatus).
type PurgeStatus struct {
	// Error is the last purge error.
	Error string `json:"error,omitempty"`
	// IsPurging is true while the replica purges snapshots; it blocks activation (REFERENCE §1.7).
	IsPurging bool `json:"isPurging,omitempty"`
	// Progress is the purge progress in percent.
	Progress int `json:"progress,omitempty"`
	// State is the replica's purge state.
	State string `json:"state,omitempty"`
}

// EngineStatus is the part of Longhorn's EngineStatus that drplan uses.
type EngineStatus struct {
	// OwnerID is the node whose longhorn-manager reconciles the engine.
	OwnerID string `json:"ownerID,omitempty"`
	// CurrentState is the engine instance's state (running, stopped, ...).
	CurrentState string `json:"currentState,omitempty"`
	// CurrentSize is the engine's volume size in bytes, a string on the wire.
	//
	// +kubebuilder:validation:Type=string
	CurrentSize int64 `json:"currentSize,string,omitempty"`
	// LastRestoredBackup is the backup all replicas have restored; Longhorn updates it only when
	// every replica agrees (REFERENCE §1.6).
	LastRestoredBackup string `json:"lastRestoredBackup,omitempty"`
	// RestoreStatus is the restore progress per replica address.
	//
	// +nullable
	RestoreStatus map[string]*RestoreStatus `json:"restoreStatus,omitempty"`
	// PurgeStatus is the snapshot-purge progress per replica address.
	//
	// +nullable
	PurgeStatus map[string]*PurgeStatus `json:"purgeStatus,omitempty"`
	// ReplicaModeMap is the mode (RW, WO, ERR) per replica name.
	//
	// +nullable
	ReplicaModeMap map[string]string `json:"replicaModeMap,omitempty"`
	// Conditions are Longhorn's engine conditions.
	//
	// +nullable
	Conditions []Condition `json:"conditions,omitempty"`
}

// Engine is a Longhorn engine (engines.longhorn.io), one per attached volume.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=lhe
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.currentState`
// +kubebuilder:printcolumn:name="Requested",type=string,JSONPath=`.spec.requestedBackupRestore`
// +kubebuilder:printcolumn:name="Restored",type=string,JSONPath=`.status.lastRestoredBackup`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Engine struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the wanted state.
	Spec EngineSpec `json:"spec,omitempty"`
	// Status is the observed state, written by Longhorn.
	Status EngineStatus `json:"status,omitempty"`
}

// EngineList is a list of Engines.
//
// +kubebuilder:object:root=true
type EngineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the engines.
	Items []Engine `json:"items"`
}

// Replica modes in Engine.status.replicaModeMap.
const (
	ReplicaModeRW  = "RW"
	ReplicaModeWO  = "WO"
	ReplicaModeERR = "ERR"
)
