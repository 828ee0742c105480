package longhorn

// ConditionStatus is the status of a Longhorn condition.
type ConditionStatus string

// Condition statuses.
const (
	ConditionStatusTrue    ConditionStatus = "True"
	ConditionStatusFalse   ConditionStatus = "False"
	ConditionStatusUnknown ConditionStatus = "Unknown"
)

// Condition is Longhorn's condition (a list entry in status.conditions of Volume, Engine and
// BackupTarget). Its times are plain strings in Longhorn, hence Timestamp.
type Condition struct {
	// Type is the condition type, for example VolumeConditionTypeRestore.
	Type string `json:"type"`
	// Status is True, False or Unknown.
	Status ConditionStatus `json:"status"`
	// LastProbeTime is when the condition was last probed.
	//
	// +optional
	LastProbeTime Timestamp `json:"lastProbeTime,omitzero"`
	// LastTransitionTime is when Status last changed.
	//
	// +optional
	LastTransitionTime Timestamp `json:"lastTransitionTime,omitzero"`
	// Reason is a one-word reason for the last transition.
	Reason string `json:"reason,omitempty"`
	// Message is a human-readable message for the last transition.
	Message string `json:"message,omitempty"`
}

// FindCondition returns the condition of type typ in conds, or nil.
func FindCondition(conds []Condition, typ string) *Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}
