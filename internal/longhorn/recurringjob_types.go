package longhorn

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RecurringJobTask is what a recurring job does (REFERENCE §4).
//
// +kubebuilder:validation:Enum=snapshot;snapshot-force-create;snapshot-cleanup;snapshot-delete;backup;backup-force-create;filesystem-trim;system-backup
type RecurringJobTask string

// Recurring job tasks.
const (
	RecurringJobTaskSnapshot            RecurringJobTask = "snapshot"
	RecurringJobTaskSnapshotForceCreate RecurringJobTask = "snapshot-force-create"
	RecurringJobTaskSnapshotCleanup     RecurringJobTask = "snapshot-cleanup"
	RecurringJobTaskSnapshotDelete      RecurringJobTask = "snapshot-delete"
	RecurringJobTaskBackup              RecurringJobTask = "backup"
	RecurringJobTaskBackupForceCreate   RecurringJobTask = "backup-force-create"
	RecurringJobTaskFilesystemTrim      RecurringJobTask = "filesystem-trim"
	RecurringJobTaskSystemBackup        RecurringJobTask = "system-backup"
)

// DefaultRecurringJobConcurrency is the concurrency Longhorn uses when spec.concurrency is 0.
const DefaultRecurringJobConcurrency = 10

// RecurringJobSpec is Longhorn's RecurringJobSpec (REFERENCE §4), all of it.
type RecurringJobSpec struct {
	// Name is the job's name; Longhorn sets it to metadata.name when empty.
	Name string `json:"name,omitempty"`
	// Groups are the groups the job belongs to; volumes join a group by label.
	Groups []string `json:"groups,omitempty"`
	// Task is what the job does.
	Task RecurringJobTask `json:"task,omitempty"`
	// Cron is the schedule, in the standard five-field form (cron.ParseStandard).
	Cron string `json:"cron,omitempty"`
	// Retain is how many snapshots or backups the job keeps per volume.
	Retain int `json:"retain,omitempty"`
	// Concurrency is how many volumes the job handles at once; 0 means
	// DefaultRecurringJobConcurrency.
	Concurrency int `json:"concurrency,omitempty"`
	// Labels are put on the snapshots and backups the job creates.
	Labels map[string]string `json:"labels,omitempty"`
	// Parameters tune the task, for example "full-backup-interval" for backups.
	Parameters map[string]string `json:"parameters,omitempty"`
}

// RecurringJobStatus is Longhorn's RecurringJobStatus.
type RecurringJobStatus struct {
	// OwnerID is the node whose longhorn-manager reconciles the job.
	OwnerID string `json:"ownerID,omitempty"`
	// ExecutionCount is how many times the job has run.
	ExecutionCount int `json:"executionCount,omitempty"`
}

// RecurringJob runs a task on a cron schedule for the volumes bound to it by the labels
// RecurringJobLabel and RecurringJobGroupLabel (recurringjobs.longhorn.io).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=lhrj
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="Task",type=string,JSONPath=`.spec.task`
// +kubebuilder:printcolumn:name="Cron",type=string,JSONPath=`.spec.cron`
// +kubebuilder:printcolumn:name="Retain",type=integer,JSONPath=`.spec.retain`
// +kubebuilder:printcolumn:name="Concurrency",type=integer,JSONPath=`.spec.concurrency`
type RecurringJob struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the wanted state.
	Spec RecurringJobSpec `json:"spec,omitempty"`
	// Status is the observed state, written by Longhorn.
	Status RecurringJobStatus `json:"status,omitempty"`
}

// RecurringJobList is a list of RecurringJobs.
//
// +kubebuilder:object:root=true
type RecurringJobList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the recurring jobs.
	Items []RecurringJob `json:"items"`
}
