package planner

import (
	"time"

	"github.com/drplan/drplan/internal/authorization"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// Input is everything one decision reads, gathered once by the caller.
type Input struct {
	// Plans are every plan of the revision, valid or not, as loaded. Only valid plans are acted
	// on; an invalid plan is reported with its problems, and its volumes are not orphans; while
	// the set is not complete (a file that does not parse), no plan is taken as removed. Nil
	// before any revision was read: then nothing is decided or reported for plans.
	Plans *plans.Set
	// Clusters is the observed state by cluster name. A missing entry is a cluster the agent's
	// config does not know.
	Clusters map[string]*observed.State
	// Owner is this agent's LabelOwner value (see OwnerID); objects it creates carry it, and only
	// objects with it can be orphans of this agent.
	Owner string
	// Revision is the plans repo's commit the plans come from; a failover records the one
	// that started it.
	Revision string
	// Now is the clock.
	Now time.Time
	// Namespace is Longhorn's namespace in every cluster.
	Namespace string
	// Shard, when set, is this agent's shard among several (the AgentConfig's shard.name):
	// Plans holds only the plans it selects, and it drives a plan only while it holds the
	// plan's claim in the plan's secondary cluster (see ClaimPlan).
	Shard string
	// Others are the names of the revision's plans other shards select: known to be in Git,
	// so never orphans, and never driven here.
	Others []string
	// SyncInterval is the least time between two sync requests for the same BackupVolume or
	// BackupTarget. Default 30s.
	SyncInterval time.Duration
	// Authorization is the agent config's failover authorization; each plan may add to it
	// (see FailoverPolicy). Zero: none.
	Authorization authorization.Policy
	// Verdicts are the decisions on the failovers FailoversToAuthorize named, by plan. Nil when
	// they were not gathered (a pull request's preview, drplan diff): a failover is then shown
	// as it would run once authorized.
	Verdicts map[string]authorization.Verdict
	// Schedules are the runs of the agent-run (application-consistent) schedules, by plan, for
	// the reports. Nil in a preview.
	Schedules map[string]ScheduleRun
	// HookPods are the running pods each exec backup hook selects in its plan's primary, by
	// HookPodsKey, counted for a preview: a hook that selects none is reported. Nil in a pass.
	HookPods map[string]int
	// HookFailures are the hooked snapshots (TakeSnapshots, by Key) that failed lately: one is
	// not asked for again before its RetryAt, and the failover says why it waits.
	HookFailures map[string]HookFailure
}

// FailoverPolicy is who may start p's failover: the agent's config narrowed by the plan.
func FailoverPolicy(in Input, p *plans.Plan) authorization.Policy {
	a := p.Spec.FailoverAuthorization
	if a == nil {
		return in.Authorization
	}
	plan := authorization.Policy{SignedCommit: a.SignedCommits, Approvals: a.Approvals}
	if len(a.Reviewers) > 0 || len(a.Teams) > 0 {
		plan.AllowLists = []authorization.AllowList{{Users: a.Reviewers, Teams: a.Teams}}
	}
	return in.Authorization.Narrow(plan)
}

// DefaultSyncInterval is Input.SyncInterval's default.
const DefaultSyncInterval = 30 * time.Second

// MinSyncGap is the least time between two sync requests for the same object even when Longhorn
// answered the first.
const MinSyncGap = 5 * time.Second
