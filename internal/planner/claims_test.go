package planner

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

func claim(plan, shard string, labels map[string]string) corev1.ConfigMap {
	cm := corev1.ConfigMap{Data: map[string]string{ClaimShardKey: shard}}
	cm.Name, cm.Namespace, cm.ResourceVersion = ClaimName(plan), ns, "7"
	cm.Labels = labels
	if cm.Labels == nil {
		cm.Labels = ownedLabels(owner, map[string]string{LabelPlan: plan})
	}
	return cm
}

// A sharded agent drives a plan only while it holds the plan's claim in the secondary.
func TestClaims(t *testing.T) {
	tgt := target("s3://backups@us-east-1/")
	for _, tc := range []struct {
		name   string
		shard  string
		others []string
		west   func(*observed.State)
		// drives: the plan's RecurringJob is applied on the primary.
		drives  bool
		actions []string
		problem string
		waiting string
	}{
		{name: "no sharding drives every plan", drives: true},
		{name: "unclaimed plan is claimed first, not driven yet", shard: "eu",
			actions: []string{"*planner.ClaimPlan"}, waiting: "shard eu claims the plan in cluster west"},
		{name: "own claim drives", shard: "eu", west: func(s *observed.State) { s.ConfigMaps = append(s.ConfigMaps, claim("shop", "eu", nil)) }, drives: true},
		{name: "another shard's claim: left alone", shard: "us", west: func(s *observed.State) { s.ConfigMaps = append(s.ConfigMaps, claim("shop", "eu", nil)) },
			problem: "plan shop is driven by shard eu; shard us selects it too and leaves it alone"},
		{name: "a claim of another repository's agents", shard: "eu",
			west: func(s *observed.State) {
				s.ConfigMaps = append(s.ConfigMaps, claim("shop", "eu", ownedLabels("ffffffffffff", nil)))
			},
			problem: "was not made by this plans repository's agents"},
		{name: "secondary unreachable: not driven", shard: "eu", west: func(s *observed.State) { s.Reachable = false },
			waiting: "shard eu: the plan's claim in cluster west cannot be read"},
		{name: "claim on a plan another shard now selects is released", shard: "eu", others: []string{"old"},
			west: func(s *observed.State) {
				s.ConfigMaps = append(s.ConfigMaps, claim("shop", "eu", nil), claim("old", "eu", nil))
			},
			drives: true, actions: []string{"*planner.ReleaseClaim"}},
		{name: "claim on a plan gone from Git is released", shard: "eu",
			west: func(s *observed.State) {
				s.ConfigMaps = append(s.ConfigMaps, claim("shop", "eu", nil), claim("gone", "eu", nil))
			},
			drives: true, actions: []string{"*planner.ReleaseClaim"}},
		{name: "another shard's claim on a plan gone from Git is not this shard's to release", shard: "eu",
			west: func(s *observed.State) {
				s.ConfigMaps = append(s.ConfigMaps, claim("shop", "eu", nil), claim("gone", "us", nil))
			},
			drives: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decide := func(shard string) Result {
				p := plan("shop")
				east := state("east", tgt) // no RecurringJob yet: a driven plan gets one
				for _, v := range p.Spec.Volumes {
					east.Volumes = append(east.Volumes, sourceVolume(v.Name, nil))
				}
				west := state("west", tgt)
				if tc.west != nil {
					tc.west(west)
				}
				return Decide(Input{Plans: &plans.Set{Plans: []*plans.Plan{p}}, Shard: shard, Others: tc.others,
					Clusters: map[string]*observed.State{"east": east, "west": west}, Now: now, Namespace: ns, Owner: owner})
			}
			res, unsharded := decide(tc.shard), decide("")
			claimActs, driveActs := splitClaims(res.Actions)
			if strings.Join(claimActs, ",") != strings.Join(tc.actions, ",") {
				t.Errorf("claim actions = %v, want %v", claimActs, tc.actions)
			}
			_, want := splitClaims(unsharded.Actions)
			if tc.drives {
				if strings.Join(driveActs, ",") != strings.Join(want, ",") || len(want) == 0 {
					t.Errorf("a driven plan's actions = %v, want those of an unsharded agent %v", driveActs, want)
				}
			} else if len(driveActs) > 0 {
				t.Errorf("a plan not driven got actions %v", driveActs)
			}
			r := res.Report.Plans[0]
			if got := strings.Join(r.Problems, "\n"); (tc.problem == "" && got != "") || !strings.Contains(got, tc.problem) {
				t.Errorf("problems = %q, want %q", got, tc.problem)
			}
			if got := strings.Join(r.Waiting, "\n"); !strings.Contains(got, tc.waiting) {
				t.Errorf("waiting = %q, want %q", got, tc.waiting)
			}
		})
	}
}

// splitClaims divides actions into the claims' and the others, as "Type: description".
func splitClaims(acts []Action) (claims, others []string) {
	for _, a := range acts {
		line := fmt.Sprintf("%T", a)
		switch a.(type) {
		case *ClaimPlan, *ReleaseClaim:
			claims = append(claims, line)
		default:
			others = append(others, line+": "+a.String())
		}
	}
	return claims, others
}

// A suspended plan is reported as it stands and decides nothing: no job, no label, no standby
// volume, no failover step, no claim.
func TestSuspendedPlanDecidesNothing(t *testing.T) {
	tgt := target("s3://backups@us-east-1/")
	for _, failover := range []bool{false, true} {
		p := plan("shop", func(d *plans.DRPlan) { d.Spec.Suspend, d.Spec.Failover = true, failover })
		east := state("east", tgt)
		for _, v := range p.Spec.Volumes {
			east.Volumes = append(east.Volumes, sourceVolume(v.Name, nil))
		}
		res := Decide(Input{Plans: &plans.Set{Plans: []*plans.Plan{p}}, Shard: "eu",
			Clusters: map[string]*observed.State{"east": east, "west": state("west", tgt)}, Now: now, Namespace: ns, Owner: owner})
		if len(res.Actions) != 0 {
			t.Errorf("failover %t: a suspended plan got actions %v", failover, res.Actions)
		}
		r := res.Report.Plans[0]
		if !r.Suspended || len(r.Volumes) != 2 {
			t.Errorf("failover %t: report = %+v, want suspended with its volumes", failover, r)
		}
	}
}
