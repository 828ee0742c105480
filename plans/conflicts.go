package plans

import (
	"fmt"
	"strings"
)

// claim is one thing a plan owns in a cluster, which no other plan may own too.
type claim struct {
	what  string // "volume", "PersistentVolume", "claim"
	key   string // cluster and name, unique per thing
	label string // for messages: volume "pg-data" in cluster east
}

type claimRef struct {
	plan  *Plan
	field string
}

// checkConflicts finds plans that share a name, or claim the same volume (as source in the
// primary or standby in the secondary), PersistentVolume or claim in the same cluster. Every
// plan involved gets a problem at its own place naming the others: no plan of a conflict is
// applied, since which one is meant cannot be known.
func checkConflicts(plans []*Plan) {
	byName := map[string][]claimRef{}
	byClaim := map[claim][]claimRef{}
	var order []claim
	for _, p := range plans {
		if p.Name() != "" {
			byName[p.Name()] = append(byName[p.Name()], claimRef{p, "metadata.name"})
		}
		for _, c := range claimsOf(p) {
			if _, seen := byClaim[c.claim]; !seen {
				order = append(order, c.claim)
			}
			byClaim[c.claim] = append(byClaim[c.claim], c.ref)
		}
	}
	for _, p := range plans {
		if refs := byName[p.Name()]; len(refs) > 1 {
			for _, r := range refs {
				if r.plan == p {
					p.Problems = append(p.Problems, p.problem("metadata.name",
						fmt.Sprintf("plan name %q is also used at %s", p.Name(), positions(refs, p))))
					break
				}
			}
		}
	}
	for _, c := range order {
		refs := byClaim[c]
		for _, r := range refs {
			others := places(refs, r.plan)
			if others == "" {
				continue // the same plan twice: validatePlan reports it
			}
			r.plan.Problems = append(r.plan.Problems, r.plan.problem(r.field,
				fmt.Sprintf("%s is also claimed by %s", c.label, others)))
		}
	}
}

type planClaim struct {
	claim claim
	ref   claimRef
}

func claimsOf(p *Plan) []planClaim {
	s := p.Spec
	var out []planClaim
	add := func(what, cluster, name, field string) {
		if cluster == "" || name == "" {
			return
		}
		out = append(out, planClaim{
			claim: claim{what: what, key: cluster + "\x00" + name, label: fmt.Sprintf("%s %q in cluster %s", what, name, cluster)},
			ref:   claimRef{plan: p, field: field},
		})
	}
	for i, v := range s.Volumes {
		path := fmt.Sprintf("spec.volumes[%d]", i)
		// Source and standby volumes share one namespace of names per cluster: a plan's standby
		// volume must not take the name of another plan's source volume in the same cluster.
		add("volume", s.Primary, v.Name, path+".name")
		add("volume", s.Secondary, v.StandbyName, path+".standbyName")
		if v.PV != nil {
			add("PersistentVolume", s.Secondary, v.PV.Name, path+".pv.name")
		}
		if v.PVC != nil && v.PVC.Namespace != "" {
			add("claim", s.Secondary, v.PVC.Namespace+"/"+v.PVC.Name, path+".pvc.name")
		}
	}
	return out
}

// positions lists where plans other than self hold a claim: FILE:LINE:COL, ...
func positions(refs []claimRef, self *Plan) string {
	return listOthers(refs, self, func(r claimRef, pos string) string { return pos })
}

// places lists where plans other than self hold a claim: plan "x" (FILE:LINE:COL), ...
func places(refs []claimRef, self *Plan) string {
	return listOthers(refs, self, func(r claimRef, pos string) string {
		return fmt.Sprintf("plan %q (%s)", r.plan.Name(), pos)
	})
}

// maxOthers bounds how many other places one problem names.
const maxOthers = 3

func listOthers(refs []claimRef, self *Plan, format func(claimRef, string) string) string {
	var out []string
	more := 0
	for _, r := range refs {
		if r.plan == self {
			continue
		}
		if len(out) == maxOthers {
			more++
			continue
		}
		pos := r.plan.Position(r.field)
		out = append(out, format(r, fmt.Sprintf("%s:%d:%d", r.plan.File, pos.Line, pos.Column)))
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(out, ", ")
}
