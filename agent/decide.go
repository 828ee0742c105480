package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"

	"github.com/drplan/drplan/internal/authorization"
	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/internal/hooks"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/plans"
)

// observer gathers what a decision reads from the clusters. Its decide is the one
// gather-and-decide path of the agent: the loop, the pull-request preview and `drplan diff`
// all call it, so they see the same states and the same gates.
type observer struct {
	clusters  map[string]*cluster.Cluster
	namespace string
	owner     string
	// shard, when agents are sharded, is this agent's shard and selects its plans.
	shard   string
	selects *plans.Shard
	// authorization is the config's failover authorization, for previews to say what a
	// failover needs.
	authorization authorization.Policy
}

// newObserver observes clusters for the plans cfg names: its repo and, when sharded, its shard.
func newObserver(cfg *config.AgentConfig, clusters map[string]*cluster.Cluster) (observer, error) {
	o := observer{clusters: clusters, namespace: cfg.LonghornNamespace, owner: ownerOf(cfg), authorization: policyOf(cfg.FailoverAuthorization)}
	if sh := cfg.Shard; sh != nil {
		sel, err := plans.ParseShard(sh.Selector, sh.Names)
		if err != nil {
			return o, fmt.Errorf("shard %s: %w", sh.Name, err)
		}
		o.shard, o.selects = sh.Name, &sel
	}
	return o, nil
}

// decide observes every cluster (the caches, plus the failover gates the caches do not hold)
// and decides the plans of one revision. set is nil before any revision was read.
func (o observer) decide(ctx context.Context, set *plans.Set, revision string) planner.Result {
	res, _ := o.decideWithInput(ctx, set, revision, nil, passState{})
	return res
}

// decideWithInput is decide, returning the input decided on too: the loop writes the status
// objects from the same states. The loop passes its authorizer and the agent-run schedules'
// runs: the failovers about to start are then decided with who authorized them; without an
// authorizer (a preview, drplan diff) they are shown as they would run once authorized, and
// the pods each exec backup hook selects are counted, so that one selecting none is reported.
func (o observer) decideWithInput(ctx context.Context, set *plans.Set, revision string, authz *authorizer, ps passState) (planner.Result, planner.Input) {
	in := planner.Input{Plans: set, Revision: revision, Now: time.Now(), Namespace: o.namespace, Owner: o.owner, Clusters: o.states(ctx),
		Authorization: o.authorization, Schedules: ps.schedules, HookFailures: ps.hookFailures}
	if o.selects != nil && set != nil {
		in.Shard = o.shard
		in.Plans, in.Others = set.Split(*o.selects)
	}
	o.readFailoverGates(ctx, in)
	if authz != nil {
		authz.gather(ctx, &in)
	} else {
		in.HookPods = o.countHookPods(ctx, in)
	}
	return planner.Decide(in), in
}

// passState is what the loop knows besides the clusters: the runs of the agent-run schedules
// and the hooked snapshots that failed lately. Empty in a preview.
type passState struct {
	schedules    map[string]planner.ScheduleRun
	hookFailures map[string]planner.HookFailure
}

// countHookPods counts the running pods each exec backup hook selects in its plan's primary. A
// hook whose pods cannot be listed is not counted (not reported).
func (o observer) countHookPods(ctx context.Context, in planner.Input) map[string]int {
	out := map[string]int{}
	for _, h := range planner.ExecHooks(in) {
		c := o.clusters[h.Cluster]
		if c == nil {
			continue
		}
		pods, err := hooks.Selected(ctx, c.Client(), h.Hook)
		if err != nil {
			logr.FromContextOrDiscard(ctx).V(1).Info("count the pods of a backup hook", "plan", h.Plan, "hook", h.Field, "error", err.Error())
			continue
		}
		out[planner.HookPodsKey(h)] = len(pods)
	}
	return out
}

// states reads every cluster from its cache; a cluster whose cache cannot be read counts as not
// observed.
func (o observer) states(ctx context.Context) map[string]*observed.State {
	out := make(map[string]*observed.State, len(o.clusters))
	for name, c := range o.clusters {
		s, err := c.State(ctx)
		if err != nil {
			logr.FromContextOrDiscard(ctx).Error(err, "read cluster state", "cluster", name)
			s = &observed.State{Name: name}
		}
		out[name] = s
	}
	return out
}

// readFailoverGates reads into the states the decision reads what the caches do not hold, only
// while a failover or a drill runs: the scope of a drill's manifests' kinds, the gates and
// manifests' objects of the steps under way.
func (o observer) readFailoverGates(ctx context.Context, in planner.Input) {
	for name, kinds := range planner.DrillKinds(in) {
		c, s := o.clusters[name], in.Clusters[name]
		if c == nil || s == nil {
			continue
		}
		namespaced, err := c.Namespaced(kinds)
		if err != nil {
			// Left unread: a drill does not run a step while it cannot tell what it may apply.
			logr.FromContextOrDiscard(ctx).Error(err, "read the scope of drill manifests' kinds", "cluster", name)
			continue
		}
		s.Namespaced = namespaced
	}
	for name, refs := range planner.FailoverReads(in) {
		c, s := o.clusters[name], in.Clusters[name]
		if c == nil || s == nil {
			continue
		}
		objs, err := c.ReadObjects(ctx, refs)
		if err != nil {
			logr.FromContextOrDiscard(ctx).Error(err, "read failover gates", "cluster", name)
		}
		s.Objects = objs
	}
	evaluateCELGates(ctx, in)
}
