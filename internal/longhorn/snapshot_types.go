package longhorn

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LabelSnapshotVolume is the label Longhorn's snapshot controller puts on a Snapshot CR: the
// volume's name (types.LonghornLabelVolume).
const LabelSnapshotVolume = "longhornvolume"

// SnapshotSpec is Longhorn's SnapshotSpec. The Snapshot kind is not in REFERENCE.md nor in the
// extracted CRD file: its fields follow longhorn-manager v1.10.2
// k8s/pkg/apis/longhorn/v1beta2/snapshot.go, whose JSON keys have no omitempty.
type SnapshotSpec struct {
	// Volume is the volume the snapshot belongs to; immutable.
	Volume string `json:"volume"`
	// CreateSnapshot asks Longhorn to take a new snapshot of Volume under the CR's name. Longhorn
	// attaches a detached volume for it (attacher type snapshot-controller).
	//
	// +optional
	CreateSnapshot bool `json:"createSnapshot"`
	// Labels are the snapshot's labels in the engine.
	//
	// +optional
	// +nullable
	Labels map[string]string `json:"labels"`
}

// SnapshotStatus is Longhorn's SnapshotStatus (v1.10.2).
type SnapshotStatus struct {
	// +optional
	Parent string `json:"parent"`
	// +optional
	// +nullable
	Children map[string]bool `json:"children"`
	// +optional
	MarkRemoved bool `json:"markRemoved"`
	// +optional
	UserCreated bool `json:"userCreated"`
	// CreationTime is when the snapshot was taken (RFC 3339); empty until it is.
	//
	// +optional
	CreationTime string `json:"creationTime"`
	// +optional
	Size int64 `json:"size"`
	// +optional
	// +nullable
	Labels map[string]string `json:"labels"`
	// +optional
	OwnerID string `json:"ownerID"`
	// Error is why the snapshot could not be taken.
	//
	// +optional
	Error string `json:"error,omitempty"`
	// +optional
	RestoreSize int64 `json:"restoreSize"`
	// ReadyToUse is true once the snapshot exists in the engine: a Backup CR of it may be made.
	//
	// +optional
	ReadyToUse bool `json:"readyToUse"`
	// +optional
	Checksum string `json:"checksum"`
}

// Snapshot is a volume snapshot (snapshots.longhorn.io). A Backup CR made by hand names one in
// spec.snapshotName, and Longhorn's admission refuses the Backup when it does not exist.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=lhsnap
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Volume",type=string,JSONPath=`.spec.volume`
// +kubebuilder:printcolumn:name="CreationTime",type=string,JSONPath=`.status.creationTime`
// +kubebuilder:printcolumn:name="ReadyToUse",type=boolean,JSONPath=`.status.readyToUse`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Snapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SnapshotSpec   `json:"spec,omitempty"`
	Status SnapshotStatus `json:"status,omitempty"`
}

// SnapshotList is a list of Snapshots.
//
// +kubebuilder:object:root=true
type SnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Snapshot `json:"items"`
}

// SnapshotWaitingForAttachment is the end of the transient status.error longhorn-manager's
// snapshot controller sets while a Snapshot CR of a detached volume waits for the attachment it
// requested ("... engine not running. Waiting for the volume to be attached"); it is not a
// failure (REFERENCE §10.9).
const SnapshotWaitingForAttachment = "Waiting for the volume to be attached"

// SnapshotWaitsForAttachment reports whether the snapshot's error is only that wait. Longhorn
// says so in text alone, so the text is matched.
func SnapshotWaitsForAttachment(s *Snapshot) bool {
	return s != nil && strings.Contains(s.Status.Error, SnapshotWaitingForAttachment)
}
