package planner

import (
	"fmt"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// fence stops the old primary from writing new backups into the backup volumes the secondary
// now owns: once the failover record exists and the primary answers, the plan's RecurringJob
// there is deleted (that deletes no backup and no data), its label comes off the source
// volumes, their other recurring jobs and groups are disabled (see fenceLabels), and a copy of
// the record is written there once, so the old primary itself says it was failed over from.
// Nothing else of the old primary is touched.
func (f *failoverRun) fence() {
	prim, s := f.prim, f.p.Spec
	if !prim.Observed() {
		f.rep.Notes = append(f.rep.Notes, fmt.Sprintf("old primary %s does not answer: it is fenced (the plan's recurring backups there stopped) as soon as it answers; its data is stale", s.Primary))
		return
	}
	busy := false
	job := JobName(f.p.Name())
	if j := prim.RecurringJob(job); j != nil && owned(f.d.in.Owner, j.Labels) {
		f.d.add(&DeleteRecurringJob{Target: Target{prim.Name, f.p.Name()}, Namespace: j.Namespace, Name: j.Name,
			Reason: "fencing: the old primary must not write backups into the volumes the failover took over"})
		busy = true
	}
	label := longhorn.RecurringJobLabel(job)
	sources := map[string]bool{}
	for _, v := range s.Volumes {
		sources[v.Name] = true
	}
	for i := range prim.Volumes {
		v := &prim.Volumes[i]
		if !sources[v.Name] && !hasKey(v.Labels, label) {
			continue
		}
		if patch := fenceLabels(v, label); patch != nil {
			patch.Target = Target{prim.Name, f.p.Name()}
			f.d.add(patch)
			busy = true
		}
	}
	if _, found, _, previous := ownRecord(prim, f.p, f.d.in.Owner); !found {
		w := f.recordWrite(f.rec.clone(), previousRV(previous), fmt.Sprintf("mark the old primary %s: plan %s failed over to %s", prim.Name, f.p.Name(), s.Secondary))
		w.ClusterName = prim.Name
		f.d.add(w)
		busy = true
	}
	if busy {
		f.rep.Notes = append(f.rep.Notes, fmt.Sprintf("fencing old primary %s: stopping the plan's recurring backups there", s.Primary))
		return
	}
	f.rep.Notes = append(f.rep.Notes, fmt.Sprintf("old primary %s is fenced: the plan's recurring backups there are stopped; its volumes hold stale data from before the failover", s.Primary))
}

// failedOver finds the failover of a plan whose failover is false in Git: a record in the
// secondary, or the copy fencing left in the primary, or a standby volume of the plan already
// active (activated by hand). rec is nil in that last case.
func (d *decider) failedOver(p *plans.Plan, prim, sec *observed.State) (rec *FailoverRecord, yes bool) {
	for _, s := range []*observed.State{sec, prim} {
		if stored, found, problem, _ := ownRecord(s, p, d.in.Owner); found && problem == "" {
			return stored.rec, true
		}
	}
	if !sec.Observed() {
		return nil, false
	}
	for _, v := range p.Spec.Volumes {
		vol := sec.Volume(v.StandbyName)
		if vol != nil && owned(d.in.Owner, vol.Labels) && vol.Labels[LabelPlan] == p.Name() && !vol.Spec.Standby {
			return nil, true
		}
	}
	return nil, false
}

// reverted reports a plan whose failover was set back to false after it began: nothing is
// undone (activation is one-way), normal protection does not resume (it would recreate the
// recurring job on the old primary), and fencing goes on.
func (d *decider) reverted(p *plans.Plan, prim, sec *observed.State, rec *FailoverRecord, r *PlanReport) {
	f := &failoverRun{d: d, p: p, prim: prim, sec: sec, rec: rec, now: d.in.Now, steps: map[string]*FailoverStepReport{},
		rep: &FailoverReport{Phase: FailoverReverted, Steps: []FailoverStepReport{}, Volumes: []FailoverVolumeReport{}}, plan: r}
	r.FailoverStatus = f.rep
	if rec == nil {
		d.activatedOutside(f, r)
		return
	}
	msg := fmt.Sprintf("failover was set back to false after the failover began: nothing is undone (activation is one-way) and protection does not resume; failback is a new plan with the roles swapped (primary %s, secondary %s)",
		p.Spec.Secondary, p.Spec.Primary)
	r.Problems = append(r.Problems, msg)
	f.rep.Notes = append(f.rep.Notes, msg)
	if rec != nil {
		f.fence()
	}
	f.report()
}

// activatedOutside reports a plan whose failover is false in Git and was never started by
// drplan, but some of whose standby volumes are active: someone activated them by hand. Nothing
// is undone; the way to make Git match is a commit setting failover to true, which adopts the
// active volumes (they are not activated again) and fences the old primary.
func (d *decider) activatedOutside(f *failoverRun, r *PlanReport) {
	f.rep.Phase = FailoverActivatedOutside
	var active []string
	for _, v := range f.p.Spec.Volumes {
		if vol := f.sec.Volume(v.StandbyName); vol != nil && owned(d.in.Owner, vol.Labels) && vol.Labels[LabelPlan] == f.p.Name() && !vol.Spec.Standby {
			active = append(active, v.StandbyName)
		}
	}
	msg := fmt.Sprintf("standby %s %s in cluster %s activated outside drplan (failover is false in Git and drplan never started one): the old primary %s still backs up into the backup volumes they came from. "+
		"To make Git match, commit failover: true: drplan adopts the volumes already active (it does not activate them again), activates the rest wave by wave and fences %s",
		plural(len(active), "volume", "volumes"), joinFirst(active, 5), f.sec.Name, f.p.Spec.Primary, f.p.Spec.Primary)
	r.Problems = append(r.Problems, msg)
	f.rep.Notes = append(f.rep.Notes, msg)
	f.report()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// fenceLabels is the label patch that keeps a fenced source volume out of every backup job,
// or nil when it needs none. The plan's job label comes off; every other job or group label
// that is enabled becomes disabled; and the default group's label is set to disabled, because
// Longhorn binds the default group to a volume left with no job or group label at all
// (longhorn-manager datastore.labelRecurringJobDefault): a default-group backup job would then
// upload the volume's stale data into the backup volume the new primary writes to.
func fenceLabels(v *longhorn.Volume, planJobLabel string) *PatchVolumeLabels {
	p := &PatchVolumeLabels{Namespace: v.Namespace, Volume: v.Name, Set: map[string]string{}, Claim: sourceClaim(v)}
	if hasKey(v.Labels, planJobLabel) {
		p.Remove = []string{planJobLabel}
	}
	for k, val := range v.Labels {
		if k != planJobLabel && longhorn.IsRecurringJobLabel(k) && val == longhorn.LabelValueEnabled {
			p.Set[k] = longhorn.LabelValueDisabled
		}
	}
	if def := longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup); v.Labels[def] != longhorn.LabelValueDisabled {
		p.Set[def] = longhorn.LabelValueDisabled
	}
	if len(p.Set) == 0 && len(p.Remove) == 0 {
		return nil
	}
	return p
}
