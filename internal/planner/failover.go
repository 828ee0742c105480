package planner

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// The failover chain reads like a runbook: start (write the record), final backup (planned
// switchover only), catch-up, then one wave after another, each a small function of the record
// and of what the clusters show. Every pass runs the chain from the top: a step the record says
// is done is skipped, the step under way is evaluated, and at most one record write is decided
// per pass, alone when later steps depend on it. So a restarted agent continues where the
// clusters are, and nothing is done twice.

// failoverRun is one pass over one plan's failover.
type failoverRun struct {
	d         *decider
	p         *plans.Plan
	prim, sec *observed.State
	rec       *FailoverRecord
	rv        string
	rep       *FailoverReport
	now       time.Time
	// volumes are the plan's volume reports, where each standby stands now.
	volumes []VolumeReport
	// plan is the plan's report, for the problems a failover finds.
	plan *PlanReport
	// steps are the step reports built while deciding, by step name.
	steps map[string]*FailoverStepReport
	// drill is set when the run is a drill's: p is then the plan rewritten for the drill
	// (drillPlan), the record is the drill's, and nothing outside the drill is touched.
	drill *plans.Drill
	// orig is the plan as written, in a drill.
	orig *plans.Plan
}

// stepResult is what evaluating the step under way found.
type stepResult struct {
	done    bool
	stalled bool
	waiting string
	note    string
	// warning marks a note a person must know (a step skipped, given up or timed out).
	warning bool
	volumes []VolumeRecord
}

// failover decides a valid plan with failover: true. No normal protection runs for it.
func (d *decider) failover(p *plans.Plan, prim, sec *observed.State, r *PlanReport) {
	f := &failoverRun{d: d, p: p, prim: prim, sec: sec, now: d.in.Now, steps: map[string]*FailoverStepReport{}, volumes: r.Volumes, plan: r,
		rep: &FailoverReport{Phase: FailoverPending, Steps: []FailoverStepReport{}, Volumes: []FailoverVolumeReport{}}}
	r.FailoverStatus = f.rep
	defer f.report()
	if !sec.Observed() {
		f.rep.Waiting = fmt.Sprintf("cluster %s is not observed: the failover waits for it", p.Spec.Secondary)
		// The old primary may still carry a copy of the record: keep it fenced.
		if stored, found, _, _ := ownRecord(prim, p, d.in.Owner); found && stored.rec != nil {
			f.rec = stored.rec
			f.fence()
			f.rec = nil
		}
		return
	}
	stored, found, problem, previous := ownRecord(sec, p, d.in.Owner)
	if problem != "" {
		r.Problems = append(r.Problems, problem)
		f.rep.Waiting = "the failover record cannot be used: " + problem
		return
	}
	if !found {
		// A previous cycle's record (the failover this plan protects again after) is replaced.
		f.start(previousRV(previous))
		return
	}
	f.rec, f.rv = stored.rec, stored.resourceVersion
	f.fence()
	f.advance()
}

// stepNames are the plan's steps in order.
func (f *failoverRun) stepNames() []string {
	if f.drill != nil {
		out := []string{StepPrepare}
		for _, w := range f.p.Spec.Waves {
			out = append(out, WaveStep(w.Name))
		}
		return out
	}
	out := []string{StepFinalBackup, StepCatchUp}
	for _, w := range f.p.Spec.Waves {
		out = append(out, WaveStep(w.Name))
	}
	if f.p.Spec.Traffic != nil {
		out = append(out, StepTraffic)
	}
	return out
}

// start writes the record, and nothing else this pass: its startedAt starts the catch-up clock
// and says whether this is a planned switchover.
func (f *failoverRun) start(rv string) {
	prim, s := f.prim, f.p.Spec
	if prim != nil && prim.Reachable && !prim.Synced {
		f.rep.Waiting = fmt.Sprintf("cluster %s: caches not synced yet; the failover starts once it is known whether %s answers", s.Primary, s.Primary)
		return
	}
	if !f.authorized() {
		return
	}
	if missing := f.missingStandbys(); len(missing) > 0 {
		f.rep.Phase = FailoverBlocked
		why := fmt.Sprintf("the failover cannot start, there is nothing to activate in cluster %s for every volume (%s); nothing was changed in either cluster",
			s.Secondary, joinFirst(missing, 5))
		f.rep.Waiting = why
		f.rep.Notes = append(f.rep.Notes, why+". Standby volumes are created (and a faulted one replaced, under a new spec.volumes[].standbyName) only while failover is false. "+
			"Either set failover back to false, wait until drplan status shows every standby volume caught up, and set it to true again; "+
			"or, to fail over without the data of those volumes, remove them from the plan in the same commit that keeps failover true. The failover starts by itself once every volume has a usable standby volume.")
		f.plan.Problems = append(f.plan.Problems, why)
		return
	}
	planned := prim.Observed()
	rec := &FailoverRecord{Plan: f.p.Name(), Primary: s.Primary, Secondary: s.Secondary, Revision: f.d.in.Revision,
		StartedAt: f.now, Planned: planned, AuthorizedBy: f.rep.AuthorizedBy}
	if planned {
		rec.Steps = []StepRecord{{Name: StepFinalBackup, StartedAt: f.now}}
	} else {
		rec.Steps = []StepRecord{
			{Name: StepFinalBackup, StartedAt: f.now, FinishedAt: f.now, Warning: true, Note: fmt.Sprintf("skipped: primary %s%s does not answer; writes after its newest backup in the store are lost", s.Primary, downSince(prim))},
			{Name: StepCatchUp, StartedAt: f.now},
		}
	}
	kind := "unplanned failover"
	if planned {
		kind = "planned switchover"
	}
	f.d.add(f.recordWrite(rec, rv, "failover started: "+kind))
	f.rep.Planned = planned
	f.rep.Waiting = fmt.Sprintf("writing the failover record to cluster %s", s.Secondary)
}

// missingStandbys are the plan's volumes without a usable standby volume in the secondary: none
// at all, or a faulted one (Longhorn never activates it). A failover would have nothing to
// activate for them.
func (f *failoverRun) missingStandbys() []string {
	var out []string
	for _, v := range f.p.Spec.Volumes {
		switch vol := f.sec.Volume(v.StandbyName); {
		case vol == nil:
			out = append(out, "volume "+v.Name+" has no standby volume")
		case vol.Spec.Standby && vol.Status.Robustness == longhorn.VolumeRobustnessFaulted:
			out = append(out, "the standby volume "+v.StandbyName+" of volume "+v.Name+" is faulted")
		}
	}
	return out
}

func downSince(s *observed.State) string {
	if s == nil || s.DownSince.IsZero() {
		return ""
	}
	return " (unreachable since " + s.DownSince.UTC().Format(time.RFC3339) + ")"
}

// advance evaluates the first step the record does not show done.
func (f *failoverRun) advance() {
	if !f.rec.FinishedAt.IsZero() {
		f.rep.Phase = FailoverComplete
		return
	}
	f.rep.Phase = FailoverRunning
	names := f.stepNames()
	for i, name := range names {
		st := f.rec.step(name)
		if st != nil && !st.FinishedAt.IsZero() {
			continue
		}
		f.rep.Step = name
		if st == nil {
			// The plan gained a step before the ones done (a later commit): start it.
			f.write(name+" started", func(r *FailoverRecord) { r.Steps = append(r.Steps, StepRecord{Name: name, StartedAt: f.now}) })
			f.rep.Waiting = "recording the start of " + name
			return
		}
		sr := &FailoverStepReport{Name: name}
		f.steps[name] = sr
		res := f.run(name, st, sr)
		sr.Waiting = res.waiting
		if res.stalled && f.drill != nil {
			// A drill does not wait for a person: it ends there, failed, and says why.
			f.write("drill failed at "+name, func(r *FailoverRecord) {
				s := r.step(name)
				s.FinishedAt, s.Note, s.Warning = f.now, res.waiting, true
				r.FinishedAt, r.Failed = f.now, true
			})
			f.rep.Waiting = "recording that the drill failed at " + name
			return
		}
		if res.stalled {
			f.rep.Phase = FailoverStalled
		}
		if !res.done {
			f.rep.Waiting = res.waiting
			return
		}
		next := ""
		if i+1 < len(names) {
			next = names[i+1]
		}
		event := name + " done"
		if next != "" {
			event += ", " + next + " started"
		} else {
			event += ", " + f.kind() + " complete"
		}
		f.write(event, func(r *FailoverRecord) {
			s := r.step(name)
			s.FinishedAt, s.Note, s.Warning = f.now, res.note, res.warning
			if res.volumes != nil {
				r.Volumes = res.volumes
			}
			if next != "" {
				r.Steps = append(r.Steps, StepRecord{Name: next, StartedAt: f.now})
			} else {
				r.FinishedAt = f.now
			}
		})
		f.rep.Waiting = "recording the end of " + name
		return
	}
	// Every step is done but the record was not closed (the plan lost its last wave): close it.
	f.write(f.kind()+" complete", func(r *FailoverRecord) { r.FinishedAt = f.now })
	f.rep.Waiting = "recording the end of the " + f.kind()
}

// kind names what the run is, in events and messages: "failover" or "drill".
func (f *failoverRun) kind() string {
	if f.drill != nil {
		return "drill"
	}
	return "failover"
}

// labels are the labels of an object the run creates: drplan's, the plan's, extra, and in a
// drill the drill's id.
func (f *failoverRun) labels(extra map[string]string) map[string]string {
	l := ownedLabels(f.d.in.Owner, map[string]string{LabelPlan: f.p.Name()})
	for k, v := range extra {
		l[k] = v
	}
	if f.drill != nil {
		l[LabelDrill] = f.drill.ID
	}
	return l
}

// run evaluates one step.
func (f *failoverRun) run(name string, st *StepRecord, sr *FailoverStepReport) stepResult {
	switch name {
	case StepPrepare:
		return f.prepare(st)
	case StepFinalBackup:
		return f.finalBackup()
	case StepCatchUp:
		return f.catchUp(st)
	case StepTraffic:
		res, _ := f.applyManifests("traffic", f.p.ManifestsOf(f.p.Spec.Traffic), st, f.p.Spec.Traffic.Timeout.Duration)
		return res
	}
	for _, w := range f.p.Spec.Waves {
		if WaveStep(w.Name) == name {
			return f.wave(w, st, sr)
		}
	}
	return stepResult{waiting: "unknown step " + name}
}

// write decides one change of the secondary's record.
func (f *failoverRun) write(event string, change func(*FailoverRecord)) {
	rec := f.rec.clone()
	change(rec)
	f.d.add(f.recordWrite(rec, f.rv, event))
}

func (f *failoverRun) recordWrite(rec *FailoverRecord, rv, event string) *WriteFailoverRecord {
	name := RecordName(f.p.Name())
	if f.drill != nil {
		name = DrillRecordName(f.p.Name())
	}
	return recordWrite(f.d.in, f.sec.Name, f.p.Name(), name, rec, rv, event)
}

// recordWrite writes rec as record ConfigMap name of plan in cluster, over resourceVersion rv
// ("" creates it).
func recordWrite(in Input, cluster, plan, name string, rec *FailoverRecord, rv, event string) *WriteFailoverRecord {
	return &WriteFailoverRecord{Target: Target{cluster, plan}, Namespace: in.Namespace, Name: name,
		Labels: ownedLabels(in.Owner, map[string]string{LabelPlan: plan}), Record: rec, ResourceVersion: rv, Event: event}
}

// report fills the plan's failover report from the record and what this pass found.
func (f *failoverRun) report() {
	rep, rec := f.rep, f.rec
	if rec != nil {
		rep.Planned, rep.Revision, rep.StartedAt, rep.FinishedAt = rec.Planned, rec.Revision, rec.StartedAt, rec.FinishedAt
		if rec.FinishedAt.IsZero() {
			rep.Elapsed = metav1.Duration{Duration: f.now.Sub(rec.StartedAt)}
		} else {
			rep.RTO = metav1.Duration{Duration: rec.FinishedAt.Sub(rec.StartedAt)}
		}
		rep.Timeline = timeline(rec)
		if rec.AuthorizedBy != nil {
			rep.AuthorizedBy = rec.AuthorizedBy
		}
		for _, s := range rec.Steps {
			if s.Warning {
				rep.Notes = append(rep.Notes, s.Name+": "+s.Note)
			}
		}
	}
	for _, name := range f.stepNames() {
		sr := FailoverStepReport{Name: name, State: StepPending}
		if cur := f.steps[name]; cur != nil {
			sr = *cur
		}
		if rec != nil {
			if s := rec.step(name); s != nil {
				sr.StartedAt, sr.State = s.StartedAt, StepRunning
				sr.Duration = metav1.Duration{Duration: f.now.Sub(s.StartedAt)}
				if !s.FinishedAt.IsZero() {
					sr.FinishedAt, sr.State, sr.Note = s.FinishedAt, StepDone, s.Note
					sr.Duration = metav1.Duration{Duration: s.FinishedAt.Sub(s.StartedAt)}
				} else if rep.Phase == FailoverStalled && name == rep.Step {
					sr.State = StepStalled
				}
			}
		}
		for _, w := range f.p.Spec.Waves {
			if WaveStep(w.Name) != name {
				continue
			}
			sr.Wave = w.Name
			for _, v := range f.p.Spec.Volumes {
				if v.Wave == w.Name {
					sr.Volumes = append(sr.Volumes, v.Name)
				}
			}
			// Gates are evaluated only while their wave runs: a finished wave passed them, a
			// wave not started yet has them ahead.
			if len(sr.Gates) == 0 {
				for _, g := range w.Gates {
					gr := GateReport{Kind: g.Kind, Namespace: g.Namespace, Name: g.Name, Timeout: metav1.Duration{Duration: g.Timeout.Duration}}
					if sr.State == StepDone {
						gr.Ready, gr.Message = true, "ready when the wave finished"
					}
					sr.Gates = append(sr.Gates, gr)
				}
			}
			for _, sc := range w.Scale {
				sr.Scale = append(sr.Scale, ScaleReport{Kind: sc.Kind, Namespace: sc.Namespace, Name: sc.Name, Replicas: sc.Replicas})
			}
		}
		rep.Steps = append(rep.Steps, sr)
	}
	recorded := map[string]VolumeRecord{}
	if rec != nil {
		for _, v := range rec.Volumes {
			recorded[v.Name] = v
		}
	}
	now := map[string]VolumeReport{}
	for _, v := range f.volumes {
		now[v.Name] = v
	}
	for _, v := range f.p.Spec.Volumes {
		vr := FailoverVolumeReport{Name: v.Name, Standby: v.StandbyName, Wave: v.Wave, State: now[v.Name].State}
		if f.sec.Observed() {
			vol := f.sec.Volume(v.StandbyName)
			vr.Active = vol != nil && !vol.Spec.Standby && !vol.Status.IsStandby
		}
		if r, ok := recorded[v.Name]; ok {
			vr.Restored, vr.SnapshotAt, vr.FinalBackup = r.Restored, r.SnapshotAt, r.FinalBackup
			vr.DataLoss, vr.DataLossKnown = r.DataLoss, r.DataLossKnown
		} else if rec == nil {
			// Not started: what the failover would start from if it ran now.
			n := now[v.Name]
			vr.Restored, vr.SnapshotAt, vr.DataLoss, vr.DataLossKnown = n.Restored, n.RestoredAt, n.Lag, n.LagKnown
		}
		if vr.DataLossKnown && (!rep.DataLossKnown || vr.DataLoss.Duration > rep.DataLoss.Duration) {
			rep.DataLoss, rep.DataLossKnown = vr.DataLoss, true
		}
		rep.Volumes = append(rep.Volumes, vr)
	}
}

// standbyOf returns the plan's standby volume of v in the secondary and whether it is the
// plan's (created by this repo's agent for this plan).
func (f *failoverRun) standbyOf(v plans.Volume) (*longhorn.Volume, string) {
	vol := f.sec.Volume(v.StandbyName)
	switch {
	case vol == nil:
		return nil, fmt.Sprintf("standby volume %s does not exist in cluster %s", v.StandbyName, f.sec.Name)
	case vol.Labels[LabelPlan] != f.p.Name() || !owned(f.d.in.Owner, vol.Labels):
		return nil, fmt.Sprintf("volume %s in cluster %s was not created by this plan of this plans repo; drplan does not touch it", vol.Name, f.sec.Name)
	}
	return vol, ""
}

func joinFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:n], "; "), len(items)-n)
}
