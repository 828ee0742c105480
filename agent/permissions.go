package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/permissions"
	"github.com/drplan/drplan/internal/planner"
)

// How often each cluster's permissions are checked: every permissionCheckEvery, at once when
// the cluster answers again after it did not (its health is looked at every permissionPoll),
// and after a check that failed (the API server did not answer, say) from permissionRetry on,
// doubling up to permissionCheckEvery.
const (
	permissionCheckEvery = 10 * time.Minute
	permissionRetry      = 30 * time.Second
	permissionPoll       = 5 * time.Second
)

// permissionChecks finds, in each cluster, the permissions of the agent's ClusterRole its
// credentials lack (internal/permissions). It runs on every replica, beside the loop, and never
// holds anything up: a check that fails is logged and tried again later.
type permissionChecks struct {
	targets []permissionTarget
	clock   clock.Clock
	// every, retry and poll are permissionCheckEvery, permissionRetry and permissionPoll.
	every, retry, poll time.Duration
	// found is called with the result of every check that got an answer.
	found func(cluster string, missing []string)

	mu      sync.Mutex
	missing map[string][]string
}

// permissionTarget is one cluster to check.
type permissionTarget struct {
	name     string
	reviewer permissions.Reviewer
	scope    permissions.Scope
	health   func() observed.Health
}

// newPermissionChecks checks every cluster of cfg; leaderElection says whether the lease's
// cluster needs the lease's permissions.
func newPermissionChecks(cfg *config.AgentConfig, clusters map[string]*cluster.Cluster, leaderElection bool,
	found func(string, []string)) (*permissionChecks, error) {
	p := &permissionChecks{clock: clock.RealClock{}, every: permissionCheckEvery, retry: permissionRetry, poll: permissionPoll,
		found: found, missing: map[string][]string{}}
	for name, c := range clusters {
		// Not counted with the passes' requests: a check is not part of a pass.
		rc := c.LeaseConfig()
		rc.QPS, rc.Burst, rc.Timeout = cluster.DefaultQPS, cluster.DefaultBurst, 30*time.Second
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: permission check client: %w", name, err)
		}
		p.targets = append(p.targets, permissionTarget{name: name, reviewer: cs.AuthorizationV1().SelfSubjectAccessReviews(),
			scope: permissionScope(cfg, name, leaderElection), health: c.Health})
	}
	return p, nil
}

// permissionScope is where the agent uses its permissions in the cluster name: Longhorn's
// namespace, cluster-wide for the kinds its caches hold everywhere, and the lease's namespace
// in the cluster that holds the lease, when leader election is on.
func permissionScope(cfg *config.AgentConfig, name string, leaderElection bool) permissions.Scope {
	s := permissions.Scope{Namespace: cfg.LonghornNamespace, ClusterWide: cluster.UsedEverywhere()}
	if leaderElection && name == cfg.LeaderElection.Cluster {
		s.Optional = map[string]string{permissions.LeaseGroup: cfg.LeaderElection.Namespace}
	}
	return s
}

// run checks every cluster until ctx ends.
func (p *permissionChecks) run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, t := range p.targets {
		wg.Go(func() { p.watch(ctx, t) })
	}
	wg.Wait()
	return nil
}

// watch checks one cluster whenever checkDue says so, until ctx ends.
func (p *permissionChecks) watch(ctx context.Context, t permissionTarget) {
	log := logr.FromContextOrDiscard(ctx).WithValues("cluster", t.name)
	var next time.Time
	wasReachable, retry := true, p.retry
	for {
		reachable := t.health().Reachable
		if checkDue(next, wasReachable, reachable, p.clock.Now()) {
			missing, err := permissions.Check(ctx, t.reviewer, t.scope)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				log.Info("permission check failed; retrying", "error", err.Error(), "retryIn", retry)
				next, retry = p.clock.Now().Add(retry), min(2*retry, p.every)
			default:
				next, retry = p.clock.Now().Add(p.every), p.retry
				p.set(log, t.name, permissions.Strings(missing))
			}
		}
		wasReachable = reachable
		select {
		case <-ctx.Done():
			return
		case <-p.clock.After(p.poll):
		}
	}
}

// checkDue reports whether a cluster's permissions are to be checked now: once the next check
// is due, and at once when the cluster answers again after it did not; never while it does not
// answer (the check could not either).
func checkDue(next time.Time, wasReachable, reachable bool, now time.Time) bool {
	if !reachable {
		return false
	}
	return !wasReachable || !now.Before(next)
}

// set records what a cluster's credentials lack. A change is logged once: what is missing at
// error level, its fixing at info level.
func (p *permissionChecks) set(log logr.Logger, name string, missing []string) {
	p.mu.Lock()
	prev := p.missing[name]
	p.missing[name] = missing
	p.mu.Unlock()
	switch {
	case len(missing) > 0 && !slices.Equal(prev, missing):
		log.Error(errMissingPermissions(missing), "missing permissions", "missing", missing)
	case len(missing) == 0 && len(prev) > 0:
		log.Info("permissions complete: the credentials hold every permission the agent's ClusterRole grants")
	}
	if p.found != nil {
		p.found(name, missing)
	}
}

// errMissingPermissions tells which ClusterRole to fix.
func errMissingPermissions(missing []string) error {
	return errors.New("the agent's ClusterRole (examples/deploy/rbac.yaml or the Helm chart's) lacks: " + strings.Join(missing, ", "))
}

// annotate puts what each cluster's credentials lack, as last checked, into a pass's cluster
// reports.
func (p *permissionChecks) annotate(reports map[string]planner.ClusterReport) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, r := range reports {
		r.MissingPermissions = p.missing[name]
		reports[name] = r
	}
}
