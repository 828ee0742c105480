package planner

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/plans"
)

// Report is what a pass found, for status, metrics, logs and pull-request comments.
type Report struct {
	Now      time.Time                `json:"now"`
	Clusters map[string]ClusterReport `json:"clusters"`
	Plans    []PlanReport             `json:"plans"`
}

// ClusterReport is one cluster's reachability, and what the agent's credentials lack there.
type ClusterReport struct {
	Reachable bool      `json:"reachable"`
	Synced    bool      `json:"synced"`
	DownSince time.Time `json:"downSince,omitzero"`
	Error     string    `json:"error,omitempty"`
	// MissingPermissions are the permissions of the agent's ClusterRole its credentials lack in
	// the cluster ("create volumes.longhorn.io in namespace longhorn-system"), as the agent last
	// checked (internal/permissions). The planner does not fill it: the agent does.
	MissingPermissions []string `json:"missingPermissions,omitempty"`
}

// PlanReport is one plan's state.
type PlanReport struct {
	Name      string `json:"name"`
	Primary   string `json:"primary"`
	Secondary string `json:"secondary"`
	Failover  bool   `json:"failover"`
	// File is the file the plan was read from.
	File string `json:"file,omitempty"`
	// Invalid is true for a plan with validation problems: it is not applied at all.
	Invalid bool `json:"invalid,omitempty"`
	// Suspended is true for a plan with spec.suspend: nothing is changed for it.
	Suspended bool `json:"suspended,omitempty"`
	// Schedule is the agent-run schedule of a plan whose backups are application-consistent:
	// its last run and the next.
	Schedule *ScheduleRun `json:"schedule,omitempty"`
	// Refused is true when this agent's shard leaves the plan to another shard (see ClaimPlan).
	Refused bool `json:"refused,omitempty"`
	// Removed is true for a plan no longer in Git whose standby volumes are still there
	// (reported for its orphans only).
	Removed bool `json:"removed,omitempty"`
	// Problems need a human: the plan is not (fully) applied until they are fixed.
	Problems []string `json:"problems,omitempty"`
	// Waiting says what the plan waits for; it resolves by itself.
	Waiting []string       `json:"waiting,omitempty"`
	Volumes []VolumeReport `json:"volumes"`
	// Orphans are standby volumes left in the secondary by volumes or plans removed from Git.
	Orphans []string `json:"orphans,omitempty"`
	// Stale are the old primary's volumes, in the secondary, of the failover this plan protects
	// again after (labelled drplan.io/stale=true).
	Stale []string `json:"stale,omitempty"`
	// RPOBreach is true when any volume's lag exceeds the plan's RPO.
	RPOBreach bool            `json:"rpoBreach"`
	RPO       metav1.Duration `json:"rpo"`
	// FailoverStatus is the plan's failover, once failover is true in Git (or was: see
	// FailoverReverted); nil otherwise.
	FailoverStatus *FailoverReport `json:"failoverStatus,omitempty"`
	// Drill is the drill the plan asks for, or the last one while its record is kept; nil when
	// there is none.
	Drill *DrillReport `json:"drill,omitempty"`
	// Lifecycle is where the plan stands in the DR cycle (see Lifecycle).
	Lifecycle Lifecycle `json:"lifecycle,omitempty"`
	// ReversePullRequest is the pull request the agent opened with the plan that protects this
	// failed-over plan's volumes again (set by the agent, not the planner).
	ReversePullRequest string `json:"reversePullRequest,omitempty"`
	// ReverseProblem says why that pull request could not be opened yet (set by the agent).
	ReverseProblem string `json:"reverseProblem,omitempty"`
	// Reprotected is true for a plan that protects again after a failover of the plan with its
	// clusters swapped (whose record its clusters hold).
	Reprotected bool `json:"reprotected,omitempty"`
}

// Lifecycle is where a plan stands in the DR cycle.
type Lifecycle string

// The stages of the DR cycle.
const (
	// LifecycleProtecting: failover false, backups and standby volumes kept.
	LifecycleProtecting Lifecycle = "protecting"
	// LifecycleDrilling: protecting, and a drill is running or kept in the secondary.
	LifecycleDrilling Lifecycle = "drilling"
	// LifecycleFailingOver: failover true and not complete.
	LifecycleFailingOver Lifecycle = "failing-over"
	// LifecycleFailedOver: the failover is complete (or was done, and failover set back in
	// Git): the activated volumes run in the old secondary, unprotected until a plan with the
	// clusters swapped protects them.
	LifecycleFailedOver Lifecycle = "failed-over"
	// LifecycleProtectingReversed: protecting after a failover, the clusters swapped: the
	// activated volumes are the sources, the old primary holds the standby volumes (and the
	// stale volumes). Its failover is the failback.
	LifecycleProtectingReversed Lifecycle = "protecting-reversed"
	// LifecycleSuspended: spec.suspend; nothing is done.
	LifecycleSuspended Lifecycle = "suspended"
	// LifecycleInvalid: the plan is not applied.
	LifecycleInvalid Lifecycle = "invalid"
)

// lifecycle works out a valid plan's stage from its report.
func lifecycle(r *PlanReport) Lifecycle {
	switch f := r.FailoverStatus; {
	case r.Suspended:
		return LifecycleSuspended
	case f != nil && (f.Phase == FailoverComplete || f.Phase == FailoverReverted || f.Phase == FailoverActivatedOutside):
		return LifecycleFailedOver
	case r.Failover:
		return LifecycleFailingOver
	case r.Drill != nil && r.Drill.Phase != DrillTornDown && r.Drill.Phase != DrillStarting:
		return LifecycleDrilling
	case r.Reprotected:
		return LifecycleProtectingReversed
	}
	return LifecycleProtecting
}

// StandbyState is where a standby volume stands.
type StandbyState string

// Standby volume states.
const (
	StandbyUnknown   StandbyState = "unknown"   // the secondary is not observed
	StandbyMissing   StandbyState = "missing"   // not created yet
	StandbyRestoring StandbyState = "restoring" // restoring a backup it has not finished
	StandbyCaughtUp  StandbyState = "caught-up" // restored the newest backup, ready to activate
	StandbyFailed    StandbyState = "failed"    // Longhorn reports a restore failure
	StandbyFaulted   StandbyState = "faulted"   // every replica failed: Longhorn never salvages a standby; it must be replaced
	StandbyActive    StandbyState = "active"    // activated: no longer a standby volume
	StandbyConflict  StandbyState = "conflict"  // a volume of that name exists and is not drplan's standby
)

// VolumeReport is one protected volume.
type VolumeReport struct {
	Name    string       `json:"name"`
	Standby string       `json:"standby"`
	Wave    string       `json:"wave"`
	State   StandbyState `json:"state"`
	// Reason says why the volume is not caught up, when it is not.
	Reason string `json:"reason,omitempty"`
	// LastBackup is the newest completed backup of the source volume, as the primary (or, when
	// the primary is not observed, the secondary) shows it.
	LastBackup   string    `json:"lastBackup,omitempty"`
	LastBackupAt time.Time `json:"lastBackupAt,omitzero"`
	// LastBackupConsistency is application when LastBackup was taken between the plan's backup
	// hooks (its labels say so), crash otherwise.
	LastBackupConsistency plans.Consistency `json:"lastBackupConsistency,omitempty"`
	// BackupAge is Now minus LastBackupAt's snapshot time.
	BackupAge metav1.Duration `json:"backupAge,omitzero"`
	// Restored is the newest backup the standby volume restored, and RestoredAt its snapshot time.
	Restored   string    `json:"restored,omitempty"`
	RestoredAt time.Time `json:"restoredAt,omitzero"`
	// RestoredConsistency is Restored's consistency, as LastBackupConsistency.
	RestoredConsistency plans.Consistency `json:"restoredConsistency,omitempty"`
	// Lag is Now minus RestoredAt: how much data, in time, failing over now would lose. Zero
	// with LagKnown false when nothing is restored yet.
	Lag       metav1.Duration `json:"lag,omitzero"`
	LagKnown  bool            `json:"lagKnown"`
	RPOBreach bool            `json:"rpoBreach"`
}

// ScheduleRun is the last run of a plan's application-consistent schedule, and the next.
type ScheduleRun struct {
	// At is when the last run started (zero: none yet since this replica leads), Finished when
	// it ended.
	At       time.Time `json:"at,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Next is when the next run is due.
	Next time.Time `json:"next,omitzero"`
	// Waves are the last run's waves.
	Waves []ScheduleWave `json:"waves,omitempty"`
	// Error says what failed in the last run.
	Error string `json:"error,omitempty"`
}

// ScheduleWave is one wave of a scheduled run: its volumes backed up between its hooks.
type ScheduleWave struct {
	Wave        string            `json:"wave"`
	Consistency plans.Consistency `json:"consistency"`
	// Hooks is the hooks' summary.
	Hooks   string `json:"hooks,omitempty"`
	Backups int    `json:"backups"`
}
