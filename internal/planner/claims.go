package planner

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/plans"
)

// Claims: when agents are sharded (Input.Shard), each plan is driven by the shard holding its
// claim, a ConfigMap in the plan's secondary cluster (the cluster that survives a disaster and
// holds the failover record). A shard creates the claim of a plan it selects that has none,
// and drives the plan once it sees the claim is its own; a second shard selecting the same
// plan sees the first one's claim and leaves the plan alone, saying so. A shard releases
// (deletes) its claims on plans it no longer selects.

// claimPrefix begins the name of a plan's claim.
const claimPrefix = "drplan-claim-"

// ClaimShardKey is the key of a claim's data naming the shard that holds it.
const ClaimShardKey = "shard"

// ClaimName is the name of plan's claim ConfigMap.
func ClaimName(plan string) string { return claimPrefix + plan }

// ClaimPlan creates a plan's claim for this shard.
type ClaimPlan struct {
	Target
	Claim *corev1.ConfigMap `json:"claim"`
}

func (a *ClaimPlan) String() string {
	return fmt.Sprintf("claim plan %s for shard %s (ConfigMap %s/%s)", a.PlanName, a.Claim.Data[ClaimShardKey], a.Claim.Namespace, a.Claim.Name)
}

// ReleaseClaim deletes this shard's claim on a plan it no longer selects, unless the claim
// changed since it was read.
type ReleaseClaim struct {
	Target
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	ResourceVersion string `json:"resourceVersion"`
	Reason          string `json:"reason"`
}

func (a *ReleaseClaim) String() string {
	return fmt.Sprintf("release claim ConfigMap %s/%s on plan %s: %s", a.Namespace, a.Name, a.PlanName, a.Reason)
}

// claimed reports whether this shard may drive p now; when not, r says why. Without sharding
// every plan is this agent's.
func (d *decider) claimed(p *plans.Plan, r *PlanReport) bool {
	shard := d.in.Shard
	if shard == "" {
		return true
	}
	sec := d.in.Clusters[p.Spec.Secondary]
	if !sec.Observed() {
		r.Waiting = append(r.Waiting, fmt.Sprintf("shard %s: the plan's claim in cluster %s cannot be read; the plan is not driven until it can", shard, p.Spec.Secondary))
		return false
	}
	name := ClaimName(p.Name())
	cm := sec.ConfigMap(name)
	switch {
	case cm == nil:
		d.add(&ClaimPlan{Target: Target{sec.Name, p.Name()}, Claim: &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.in.Namespace, Labels: ownedLabels(d.in.Owner, map[string]string{LabelPlan: p.Name()})},
			Data:       map[string]string{ClaimShardKey: shard},
		}})
		r.Waiting = append(r.Waiting, fmt.Sprintf("shard %s claims the plan in cluster %s", shard, sec.Name))
		return false
	case !owned(d.in.Owner, cm.Labels):
		r.Refused = true
		r.Problems = append(r.Problems, fmt.Sprintf("ConfigMap %s/%s in cluster %s, the plan's claim, was not made by this plans repository's agents; the plan is not driven", cm.Namespace, cm.Name, sec.Name))
		return false
	case cm.Data[ClaimShardKey] != shard:
		r.Refused = true
		r.Problems = append(r.Problems, fmt.Sprintf("plan %s is driven by shard %s; shard %s selects it too and leaves it alone: make the shards' selectors disjoint (shard.selector and shard.names in the AgentConfig)",
			p.Name(), cm.Data[ClaimShardKey], shard))
		return false
	}
	return true
}

// releaseClaims releases this shard's claims on plans it does not drive: plans another shard
// selects, and plans no longer in Git (only when the whole tree was read).
func (d *decider) releaseClaims() {
	shard := d.in.Shard
	if shard == "" || d.in.Plans == nil {
		return
	}
	mine := map[string]bool{}
	for _, p := range d.in.Plans.Plans {
		mine[p.Name()] = true
	}
	others := map[string]bool{}
	for _, n := range d.in.Others {
		others[n] = true
	}
	for _, cname := range sortedClusterNames(d.in.Clusters) {
		s := d.in.Clusters[cname]
		if !s.Observed() {
			continue
		}
		var held []*corev1.ConfigMap
		for i := range s.ConfigMaps {
			cm := &s.ConfigMaps[i]
			if len(cm.Name) > len(claimPrefix) && cm.Name[:len(claimPrefix)] == claimPrefix && owned(d.in.Owner, cm.Labels) && cm.Data[ClaimShardKey] == shard {
				held = append(held, cm)
			}
		}
		sort.Slice(held, func(i, j int) bool { return held[i].Name < held[j].Name })
		for _, cm := range held {
			plan := cm.Labels[LabelPlan]
			var reason string
			switch {
			case mine[plan]:
				continue
			case others[plan]:
				reason = fmt.Sprintf("shard %s no longer selects it", shard)
			case d.in.Plans.Complete():
				reason = "the plan is no longer in Git"
			default:
				continue
			}
			d.add(&ReleaseClaim{Target: Target{cname, plan}, Namespace: cm.Namespace, Name: cm.Name, ResourceVersion: cm.ResourceVersion, Reason: reason})
		}
	}
}
