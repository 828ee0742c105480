package planner

import (
	"time"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/plans"
)

// Input is everything one decision reads, gathered once by the caller.
type Input struct {
	// Plans are the valid plans; only they are acted on.
	Plans []*plans.Plan
	// KnownPlans are the names of every plan in Git, valid or not: a volume of an invalid plan is
	// not an orphan.
	KnownPlans []string
	// Incomplete is true when the plans tree has problems outside any plan (a file that does not
	// parse): plans may be missing from Plans and KnownPlans, so none is taken as removed.
	Incomplete bool
	// Clusters is the observed state by cluster name. A missing entry is a cluster the agent's
	// config does not know.
	Clusters map[string]*cluster.State
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
	// SyncInterval is the least time between two sync requests for the same BackupVolume or
	// BackupTarget. Default 30s.
	SyncInterval time.Duration
}

// DefaultSyncInterval is Input.SyncInterval's default.
const DefaultSyncInterval = 30 * time.Second

// MinSyncGap is the least time between two sync requests for the same object even when Longhorn
// answered the first.
const MinSyncGap = 5 * time.Second
