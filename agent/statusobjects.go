package agent

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/planstatus"
	"github.com/drplan/drplan/internal/source"
	"github.com/drplan/drplan/internal/status"
)

// followerStatus is what a replica that does not lead serves: the plans' status objects, read
// from the leader-election cluster (the secondary, usually), as the leader last wrote them.
func (a *Agent) followerStatus(ctx context.Context) status.Status {
	st := status.Status{Plans: []planner.PlanReport{}, Source: status.SourceStatus{URL: source.SanitizeURL(a.cfg.Repo.URL)}}
	name := a.cfg.LeaderElection.Cluster
	c, ok := a.clusters[name]
	if !ok {
		return st
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	objs, err := listStatusObjects(ctx, c.Client(), a.cfg.LonghornNamespace, a.owner())
	if err != nil {
		logr.FromContextOrDiscard(ctx).V(1).Info("read status objects", "cluster", name, "error", err.Error())
		st.Problems = append(st.Problems, fmt.Sprintf("status objects in cluster %s: %v", name, err))
		return st
	}
	st.Objects, st.ObjectsFrom = objs, name
	return st
}

// listStatusObjects lists the status objects of the agents of owner, sorted by plan.
func listStatusObjects(ctx context.Context, c client.Client, namespace, owner string) ([]planstatus.DRPlanStatus, error) {
	var l planstatus.DRPlanStatusList
	if err := c.List(ctx, &l, client.InNamespace(namespace),
		client.MatchingLabels{planner.LabelManagedBy: planner.ManagedByValue, planner.LabelOwner: owner}); err != nil {
		return nil, err
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return l.Items, nil
}

// ReadStatusObjects reads the plans' status objects straight from the clusters of the config,
// for drplan status when no agent answers: from the first cluster, in the config's order,
// that holds any (an unreachable one is skipped, and said so in the returned problems).
func ReadStatusObjects(ctx context.Context, configPath string) (status.Status, error) {
	cfg, err := LoadConfig(configPath)
	if err != nil {
		return status.Status{}, err
	}
	st := status.Status{Plans: []planner.PlanReport{}, Source: status.SourceStatus{URL: source.SanitizeURL(cfg.Repo.URL)}}
	for _, cc := range orderForStatus(cfg) {
		rc, err := restConfig(cc)
		if err != nil {
			return st, err
		}
		rc.Timeout = 10 * time.Second
		c, err := client.New(rc, client.Options{Scheme: cluster.Scheme})
		if err != nil {
			return st, fmt.Errorf("cluster %s: %w", cc.Name, err)
		}
		objs, err := listStatusObjects(ctx, c, cfg.LonghornNamespace, ownerOf(cfg))
		if err != nil {
			st.Problems = append(st.Problems, fmt.Sprintf("cluster %s: %v", cc.Name, err))
			continue
		}
		if len(objs) > 0 {
			st.Objects, st.ObjectsFrom = objs, cc.Name
			return st, nil
		}
	}
	return st, nil
}

// orderForStatus puts the leader-election cluster first: the leader writes there whatever
// else is down.
func orderForStatus(cfg *config.AgentConfig) []config.Cluster {
	out := make([]config.Cluster, 0, len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		if c.Name == cfg.LeaderElection.Cluster {
			out = append([]config.Cluster{c}, out...)
		} else {
			out = append(out, c)
		}
	}
	return out
}
