package planner

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/authorization"
	"github.com/drplan/drplan/internal/revision"
)

// FailoverPhase is where a plan's failover stands.
type FailoverPhase string

// Failover phases.
const (
	// FailoverPending: failover is true in Git and the failover record is not written yet.
	FailoverPending FailoverPhase = "pending"
	// FailoverRunning: steps and waves are under way.
	FailoverRunning FailoverPhase = "running"
	// FailoverStalled: a wave's gate timed out; the failover stops there until the gate turns
	// ready or a commit changes the plan.
	FailoverStalled FailoverPhase = "stalled"
	// FailoverComplete: every wave is done.
	FailoverComplete FailoverPhase = "complete"
	// FailoverReverted: failover was set back to false after the failover began; nothing is
	// undone.
	FailoverReverted FailoverPhase = "reverted"
	// FailoverBlocked: failover is true in Git but cannot start: a volume has no standby volume
	// in the secondary. Nothing is written in either cluster until that changes.
	FailoverBlocked FailoverPhase = "blocked"
	// FailoverUnauthorized: failover is true in Git but the commit that set it does not meet
	// the failover authorization (a trusted signature, approvals of the pull request that
	// merged it). Nothing is written in either cluster; a commit that meets it starts it.
	FailoverUnauthorized FailoverPhase = "unauthorized"
	// FailoverActivatedOutside: failover is false in Git but standby volumes of the plan were
	// activated outside drplan (by hand, the Longhorn docs' way). Nothing is undone; a commit
	// setting failover to true adopts them.
	FailoverActivatedOutside FailoverPhase = "activated-outside"
)

// StepState is where one step of a failover stands.
type StepState string

// Step states.
const (
	StepPending StepState = "pending"
	StepRunning StepState = "running"
	StepDone    StepState = "done"
	StepStalled StepState = "stalled"
)

// FailoverReport is a plan's failover as status shows it: plain data, for `drplan status`,
// pull-request comments and metrics.
type FailoverReport struct {
	Phase FailoverPhase `json:"phase"`
	// Planned is true for a planned switchover (the primary answered at the start).
	Planned  bool   `json:"planned"`
	Revision string `json:"revision,omitempty"`
	// StartedAt and FinishedAt bound the failover; zero until known.
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Elapsed is the time since StartedAt while the failover runs.
	Elapsed metav1.Duration `json:"elapsed,omitzero"`
	// RTO is FinishedAt minus StartedAt: the time to active, as measured.
	RTO metav1.Duration `json:"rto,omitzero"`
	// DataLoss is the largest data-loss window of the plan's volumes: the RPO as realised.
	DataLoss      metav1.Duration `json:"dataLoss,omitzero"`
	DataLossKnown bool            `json:"dataLossKnown"`
	// Step is the step under way.
	Step string `json:"step,omitempty"`
	// Waiting says what the failover waits for now.
	Waiting string                 `json:"waiting,omitempty"`
	Steps   []FailoverStepReport   `json:"steps"`
	Volumes []FailoverVolumeReport `json:"volumes"`
	// Timeline is every start and end, in order.
	Timeline []TimelineEntry `json:"timeline,omitempty"`
	// Notes are facts a person must know: primary unreachable, catch-up timed out, the old
	// primary fenced and stale, failback.
	Notes []string `json:"notes,omitempty"`
	// AuthorizedBy is who authorized the failover (signer, pull request, approvers), when
	// the agent's config or the plan asks for it; for a refused one, the reasons.
	AuthorizedBy *authorization.Verdict `json:"authorizedBy,omitempty"`
}

// FailoverStepReport is one step: the final backup, the catch-up, or one wave.
type FailoverStepReport struct {
	Name string `json:"name"`
	// Wave is the wave's name for a wave's step, empty for the other steps.
	Wave       string          `json:"wave,omitempty"`
	State      StepState       `json:"state"`
	StartedAt  time.Time       `json:"startedAt,omitzero"`
	FinishedAt time.Time       `json:"finishedAt,omitzero"`
	Duration   metav1.Duration `json:"duration,omitzero"`
	Note       string          `json:"note,omitempty"`
	// Waiting says what a running step waits for.
	Waiting string `json:"waiting,omitempty"`
	// Volumes are a wave's volumes, by their name in the plan (FailoverVolumeReport.Name).
	Volumes []string `json:"volumes,omitempty"`
	// Gates are a wave's readiness gates, evaluated while the wave runs.
	Gates []GateReport `json:"gates,omitempty"`
	// Scale are the workloads a wave scales up once its volumes are active.
	Scale []ScaleReport `json:"scale,omitempty"`
}

// ScaleReport is one workload a wave scales up.
type ScaleReport struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Replicas  int32  `json:"replicas"`
}

// String is "Kind namespace/name to replicas".
func (s ScaleReport) String() string {
	return fmt.Sprintf("%s %s/%s to %d", s.Kind, s.Namespace, s.Name, s.Replicas)
}

// String is "Kind namespace/name", or "Kind name" for a cluster-scoped object.
func (g GateReport) String() string {
	if g.Namespace == "" {
		return g.Kind + " " + g.Name
	}
	return g.Kind + " " + g.Namespace + "/" + g.Name
}

// GateReport is one readiness gate of a wave.
type GateReport struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Ready     bool   `json:"ready"`
	// Message is kstatus' message, or why the object could not be evaluated.
	Message  string          `json:"message,omitempty"`
	Timeout  metav1.Duration `json:"timeout"`
	TimedOut bool            `json:"timedOut,omitempty"`
}

// FailoverVolumeReport is one volume of a failover.
type FailoverVolumeReport struct {
	Name    string `json:"name"`
	Standby string `json:"standby"`
	Wave    string `json:"wave"`
	// Active is true once activation finished (no longer a standby volume).
	Active bool `json:"active"`
	// State is the standby volume's state now; a failover that has not started (phase pending)
	// shows what it would start from.
	State StandbyState `json:"state,omitempty"`
	// Restored, SnapshotAt, FinalBackup and DataLoss are as recorded when catch-up ended.
	// Before the failover started (phase pending) they are the standby's now: the data-loss
	// window if the failover ran now.
	Restored      string          `json:"restored,omitempty"`
	SnapshotAt    time.Time       `json:"snapshotAt,omitzero"`
	FinalBackup   bool            `json:"finalBackup,omitempty"`
	DataLoss      metav1.Duration `json:"dataLoss,omitzero"`
	DataLossKnown bool            `json:"dataLossKnown"`
}

// TimelineEntry is one event of a failover.
type TimelineEntry struct {
	At    time.Time `json:"at"`
	Event string    `json:"event"`
}

// timeline lists a record's events in order.
func timeline(rec *FailoverRecord) []TimelineEntry {
	kind := "unplanned failover (primary " + rec.Primary + " unreachable)"
	if rec.Planned {
		kind = "planned switchover (primary " + rec.Primary + " reachable)"
	}
	rev := "unknown"
	if rec.Revision != "" {
		rev = revision.Short(rec.Revision)
	}
	out := []TimelineEntry{{At: rec.StartedAt, Event: fmt.Sprintf("failover started: %s, revision %s", kind, rev)}}
	for _, s := range rec.Steps {
		out = append(out, TimelineEntry{At: s.StartedAt, Event: s.Name + " started"})
		if !s.FinishedAt.IsZero() {
			ev := fmt.Sprintf("%s done in %s", s.Name, s.FinishedAt.Sub(s.StartedAt).Round(time.Millisecond))
			if s.Note != "" {
				ev += ": " + s.Note
			}
			out = append(out, TimelineEntry{At: s.FinishedAt, Event: ev})
		}
	}
	if !rec.FinishedAt.IsZero() {
		out = append(out, TimelineEntry{At: rec.FinishedAt, Event: fmt.Sprintf("failover complete: RTO %s", rec.FinishedAt.Sub(rec.StartedAt).Round(time.Millisecond))})
	}
	return out
}
