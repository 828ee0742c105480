package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// Reversal is the plan that protects a failed-over plan again: the agent proposes it as a pull
// request once the failover is complete.
type Reversal struct {
	// Plan is the failed-over plan, as loaded (its File and Start place it).
	Plan *plans.Plan
	// FailoverStartedAt identifies the failover (its record's startedAt, RFC 3339).
	FailoverStartedAt string
	// Reversed is the plan to propose.
	Reversed *plans.DRPlan
}

// reversal builds p's reversal after its failover rec completed; when none can be made it says
// why in the plan's failover report instead, once per pass, and the agent proposes nothing.
func (d *decider) reversal(p *plans.Plan, rec *FailoverRecord, prim *observed.State, r *PlanReport) {
	reversed, err := ReversedPlan(p, prim)
	if err != nil {
		r.FailoverStatus.Notes = append(r.FailoverStatus.Notes, fmt.Sprintf("no plan that protects the activated volumes again can be proposed: %v; "+
			"delete stale volumes in cluster %s (or write the reversed plan by hand)", err, p.Spec.Primary))
		return
	}
	d.reversals = append(d.reversals, Reversal{Plan: p, FailoverStartedAt: ReversalStartedAt(rec.StartedAt), Reversed: reversed})
}

// ReversalStartedAt is how a Reversal names its failover: the record's startedAt, in seconds.
func ReversalStartedAt(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// ReversedPlan is the plan that protects p's activated volumes after p failed over: primary and
// secondary swapped, failover false, no drill; each volume is the activated standby volume, and
// its new standby volume in the old primary gets a name that none of the old primary's volumes
// has (oldPrimary, when observed), so the old primary's stale data is never overwritten
// (ReverseStandbyName). PersistentVolume names default to the new standby names.
func ReversedPlan(p *plans.Plan, oldPrimary *observed.State) (*plans.DRPlan, error) {
	r := p.DRPlan
	s := &r.Spec
	s.Primary, s.Secondary = p.Spec.Secondary, p.Spec.Primary
	s.Failover, s.Drill, s.Suspend = false, nil, false
	s.Volumes = make([]plans.Volume, len(p.Spec.Volumes))
	taken := map[string]bool{}
	if oldPrimary.Observed() {
		for _, v := range oldPrimary.Volumes {
			taken[v.Name] = true
		}
	}
	for _, v := range p.Spec.Volumes {
		taken[v.Name] = true // the stale source volume, whether observed or not
	}
	for i, v := range p.Spec.Volumes {
		nv := v
		nv.Name = v.StandbyName
		name, err := ReverseStandbyName(v.Name, func(n string) bool { return taken[n] })
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		taken[name] = true
		nv.StandbyName = name
		if v.PV != nil {
			pv := *v.PV
			pv.Name = "" // defaults to the new standby name: PersistentVolumes are drplan's to name
			nv.PV = &pv
		}
		s.Volumes[i] = nv
	}
	return &r, nil
}

// standbySuffixes are the suffixes a standby volume's name takes over the cycles, after its
// root name: with the stale volumes deleted (staleVolumes: Delete), east → west → east → west
// needs no more than these three names per volume in a cluster.
var standbySuffixes = []string{"", "-b", "-c"}

// ReverseStandbyName is the name of a new standby volume for the old primary's volume old: its
// root name (old without a suffix of standbySuffixes) with the first suffix that gives a name
// not taken in that cluster. It fails when all are taken: the stale volumes must go first.
func ReverseStandbyName(old string, taken func(string) bool) (string, error) {
	root := old
	for _, suf := range standbySuffixes[1:] {
		root = strings.TrimSuffix(root, suf)
	}
	if len(root) > plans.MaxVolumeNameLength-2 {
		root = strings.TrimRight(root[:plans.MaxVolumeNameLength-2], "-")
	}
	var tried []string
	for _, suf := range standbySuffixes {
		name := root + suf
		if !taken(name) {
			return name, nil
		}
		tried = append(tried, name)
	}
	return "", fmt.Errorf("no free name for its standby volume (%s are all taken): delete the stale ones (spec.staleVolumes: Delete)", strings.Join(tried, ", "))
}
