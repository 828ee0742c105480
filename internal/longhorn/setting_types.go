package longhorn

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Setting names drplan reads (REFERENCE §5).
const (
	// SettingAllowDegradedAvailability lets a degraded standby volume finish activation when
	// "true" (Longhorn's default) (REFERENCE §1.7).
	SettingAllowDegradedAvailability = "allow-volume-creation-with-degraded-availability"
)

// SettingStatus is Longhorn's SettingStatus.
type SettingStatus struct {
	// Applied is true once Longhorn applied the value.
	Applied bool `json:"applied"`
}

// Setting is one Longhorn setting (settings.longhorn.io): a top-level string value, no spec.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=lhs
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Value",type=string,JSONPath=`.value`
// +kubebuilder:printcolumn:name="Applied",type=boolean,JSONPath=`.status.applied`
type Setting struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Value is the setting's value, always a string; no omitempty, it is the whole object.
	Value string `json:"value"`
	// Status is the observed state, written by Longhorn.
	//
	// +optional
	Status SettingStatus `json:"status,omitempty"`
}

// SettingList is a list of Settings.
//
// +kubebuilder:object:root=true
type SettingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the settings.
	Items []Setting `json:"items"`
}
