package planstatus

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is drplan's API group and version in the clusters.
var GroupVersion = schema.GroupVersion{Group: "drplan.io", Version: "v1alpha1"}

// AddToScheme adds DRPlanStatus to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &DRPlanStatus{}, &DRPlanStatusList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

// Phases of a plan, as DRPlanStatus shows them.
const (
	PhaseProtected  = "Protected"  // every standby volume holds a restored backup within the RPO
	PhaseProtecting = "Protecting" // standby volumes being created or restoring their first backup
	PhaseBreached   = "RPOBreach"  // a standby volume lags more than the RPO
	PhaseInvalid    = "Invalid"    // the plan in Git has problems; nothing is applied
	PhaseRefused    = "Refused"    // another shard drives the plan, or its claim is not this repo's
	PhaseSuspended  = "Suspended"  // spec.suspend: nothing is changed for the plan
	PhaseFailover   = "FailingOver"
	PhaseFailedOver = "FailedOver"
	PhaseBlocked    = "Blocked" // the failover cannot start
	// PhaseUnauthorized: the commit that set failover: true does not meet the failover
	// authorization (signature, approvals); nothing is changed.
	PhaseUnauthorized = "Unauthorized"
	PhaseStalled      = "Stalled"  // the failover stopped at a gate that timed out
	PhaseReverted     = "Reverted" // failover set back to false after it began
	PhaseOutside      = "ActivatedOutside"
)

// DRPlanStatus is one plan's status, as the agent sees it, in a cluster of the plan.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=drps,categories=drplan
// +kubebuilder:printcolumn:name="Plan",type=string,JSONPath=`.spec.plan`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Lifecycle",type=string,JSONPath=`.status.lifecycle`,description="Where the plan stands in the DR cycle: protecting, drilling, failing-over, failed-over"
// +kubebuilder:printcolumn:name="Lag",type=date,JSONPath=`.status.oldestRestoredAt`,description="Age of the oldest snapshot a standby volume restored: the replication lag"
// +kubebuilder:printcolumn:name="RPO",type=string,JSONPath=`.spec.rpo`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.revision`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DRPlanStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DRPlanStatusSpec   `json:"spec,omitempty"`
	Status DRPlanStatusStatus `json:"status,omitempty"`
}

// DRPlanStatusSpec names the plan: it is in Git, not here; these fields say which one.
type DRPlanStatusSpec struct {
	// Plan is the plan's metadata.name.
	Plan string `json:"plan"`
	// Primary and Secondary are the plan's clusters.
	Primary   string `json:"primary,omitempty"`
	Secondary string `json:"secondary,omitempty"`
	// RPO is the plan's recovery point objective.
	RPO string `json:"rpo,omitempty"`
	// File is where the plan is in the plans repository.
	File string `json:"file,omitempty"`
}

// DRPlanStatusStatus is what the agent last saw of the plan.
type DRPlanStatusStatus struct {
	// Phase is the plan's state in a word (see the Phase constants).
	// +optional
	Phase string `json:"phase,omitempty"`
	// Revision is the plans repository's commit in force.
	// +optional
	Revision string `json:"revision,omitempty"`
	// Volumes is how many volumes the plan protects; Protected how many of their standby
	// volumes hold a restored backup within the RPO (caught up, or restoring a newer one).
	// +optional
	Volumes int `json:"volumes,omitempty"`
	// +optional
	Protected int `json:"protected,omitempty"`
	// OldestRestoredAt is the snapshot time of the oldest backup a standby volume of the plan
	// restored last: now minus it is the plan's replication lag.
	// +optional
	OldestRestoredAt *metav1.Time `json:"oldestRestoredAt,omitempty"`
	// Lifecycle is where the plan stands in the DR cycle: protecting, drilling,
	// failing-over, failed-over (unprotected until a plan with the clusters swapped protects
	// the activated volumes), suspended or invalid.
	// +optional
	Lifecycle string `json:"lifecycle,omitempty"`
	// Failover is the plan's failover, when failover is true in Git or one ran.
	// +optional
	Failover *FailoverStatus `json:"failover,omitempty"`
	// Drill is the plan's drill, the one running or the last one.
	// +optional
	Drill *DrillStatus `json:"drill,omitempty"`
	// Problems are the plan's problems, as drplan status shows them.
	// +optional
	Problems []string `json:"problems,omitempty"`
	// Conditions are kstatus' Ready, Reconciling and Stalled.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// FailoverStatus is a failover in a few fields; drplan status has the whole report.
type FailoverStatus struct {
	Phase string `json:"phase"`
	// Step is the step under way.
	// +optional
	Step string `json:"step,omitempty"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// RTO is the time to active, once complete.
	// +optional
	RTO string `json:"rto,omitempty"`
}

// DrillStatus is a drill in a few fields; drplan status has the whole report.
type DrillStatus struct {
	ID        string `json:"id"`
	Namespace string `json:"namespace"`
	// Phase is starting, running, succeeded, failed, tearing-down or torn-down.
	Phase string `json:"phase"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// RTO is what a failover would have taken after catch-up (the waves' time), once the
	// drill succeeded.
	// +optional
	RTO string `json:"rto,omitempty"`
	// DataLoss is the largest data-loss window of the plan's volumes at the drill's start.
	// +optional
	DataLoss string `json:"dataLoss,omitempty"`
	// KeepUntil is when a finished drill's objects are deleted.
	// +optional
	KeepUntil *metav1.Time `json:"keepUntil,omitempty"`
}

// GetConditions returns the conditions (fluxcd/pkg/runtime/conditions.Getter).
func (s *DRPlanStatus) GetConditions() []metav1.Condition { return s.Status.Conditions }

// SetConditions sets the conditions (conditions.Setter).
func (s *DRPlanStatus) SetConditions(c []metav1.Condition) { s.Status.Conditions = c }

// DRPlanStatusList is a list of DRPlanStatus.
//
// +kubebuilder:object:root=true
type DRPlanStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DRPlanStatus `json:"items"`
}
