package planner

import (
	"fmt"
	"slices"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// Result is a decision: what to do and what is.
type Result struct {
	Actions []Action
	Report  Report
	// RequeueAfter, when not zero, asks for another pass after this long even if nothing
	// changes: a decision waits on the clock (a sync request that must fall in the next second).
	RequeueAfter time.Duration
	// Reversals are the plans that protect the completed failovers' plans again, for the agent
	// to propose.
	Reversals []Reversal
}

// Decide computes the actions that make both clusters of every valid plan match it, and the
// report of every plan. It does no I/O.
func Decide(in Input) Result {
	if in.SyncInterval == 0 {
		in.SyncInterval = DefaultSyncInterval
	}
	if in.Namespace == "" {
		in.Namespace = longhorn.DefaultNamespace
	}
	res := Result{Report: Report{Now: in.Now, Clusters: map[string]ClusterReport{}}}
	for name, s := range in.Clusters {
		res.Report.Clusters[name] = ClusterReport{Reachable: s.Reachable, Synced: s.Synced, DownSince: s.DownSince, Error: s.Err}
	}
	if in.Plans == nil {
		return res
	}
	d := &decider{in: in, synced: map[string]bool{}}
	for _, p := range in.Plans.Valid() {
		res.Report.Plans = append(res.Report.Plans, d.plan(p))
	}
	d.releaseClaims()
	res.Report.Plans = append(res.Report.Plans, invalidPlans(in.Plans)...)
	if in.Plans.Complete() {
		res.Report.Plans = append(res.Report.Plans, d.orphanedPlans()...)
	}
	sort.SliceStable(res.Report.Plans, func(i, j int) bool { return res.Report.Plans[i].Name < res.Report.Plans[j].Name })
	res.Actions = d.actions
	res.RequeueAfter = d.requeue
	res.Reversals = d.reversals
	return res
}

// invalidPlans reports the plans that are not applied, with their problems.
func invalidPlans(set *plans.Set) []PlanReport {
	var out []PlanReport
	for _, p := range set.Plans {
		if p.Valid() {
			continue
		}
		r := PlanReport{Name: p.Name(), Primary: p.Spec.Primary, Secondary: p.Spec.Secondary, Failover: p.Spec.Failover,
			File: p.File, Invalid: true, Volumes: []VolumeReport{}, Lifecycle: LifecycleInvalid}
		for _, pr := range p.Problems {
			r.Problems = append(r.Problems, pr.String())
		}
		out = append(out, r)
	}
	return out
}

type decider struct {
	in      Input
	actions []Action
	// synced remembers sync requests decided in this pass, so two plans never ask twice.
	synced map[string]bool
	// requeue is the shortest requeueAfter asked for in this pass.
	requeue time.Duration
	// reversals are the plans proposed to protect completed failovers again.
	reversals []Reversal
}

func (d *decider) add(a Action) { d.actions = append(d.actions, a) }

// requeueAfter asks for another pass after wait at the latest.
func (d *decider) requeueAfter(wait time.Duration) {
	if wait > 0 && (d.requeue == 0 || wait < d.requeue) {
		d.requeue = wait
	}
}

// plan decides one valid plan.
func (d *decider) plan(p *plans.Plan) PlanReport {
	s := p.Spec
	r := PlanReport{Name: p.Name(), Primary: s.Primary, Secondary: s.Secondary, Failover: s.Failover, File: p.File, RPO: metav1.Duration{Duration: s.RPO.Duration}}
	if s.Suspend {
		// Reported as it stands, read from the caches; nothing is decided for it.
		r.Suspended = true
		r.Volumes = d.volumeReports(p, d.in.Clusters[s.Primary], d.in.Clusters[s.Secondary])
		r.Lifecycle = lifecycle(&r)
		return r
	}
	if !d.claimed(p, &r) {
		r.Volumes = d.volumeReports(p, d.in.Clusters[s.Primary], d.in.Clusters[s.Secondary])
		r.Lifecycle = lifecycle(&r)
		return r
	}
	prim, sec := d.in.Clusters[s.Primary], d.in.Clusters[s.Secondary]
	d.hookSelections(p, &r)
	for _, c := range []struct {
		name  string
		state *observed.State
	}{{s.Primary, prim}, {s.Secondary, sec}} {
		switch {
		case c.state == nil:
			r.Problems = append(r.Problems, fmt.Sprintf("cluster %s is not in the agent's config", c.name))
		case !c.state.Reachable:
			r.Waiting = append(r.Waiting, fmt.Sprintf("cluster %s unreachable since %s", c.name, c.state.DownSince.UTC().Format(time.RFC3339)))
		case !c.state.Synced:
			r.Waiting = append(r.Waiting, fmt.Sprintf("cluster %s: caches not synced yet", c.name))
		}
	}

	if s.Failover {
		// Failover (activation wave by wave) is decided by its own chain (failover.go); the plan's
		// normal protection must not go on creating or feeding standby volumes.
		r.Volumes = d.volumeReports(p, prim, sec)
		d.failover(p, prim, sec, &r)
		d.drill(p, prim, sec, &r, true)
		if r.FailoverStatus.Phase == FailoverComplete {
			if stored, found, _, _ := ownRecord(sec, p, d.in.Owner); found {
				d.reversal(p, stored.rec, prim, &r)
			}
		}
		return finish(r)
	}
	if sec != nil && sec.Reachable && !sec.Synced {
		// Until the secondary's caches synced it is unknown whether the plan failed over: the
		// primary is left alone rather than protected again by mistake.
		r.Volumes = d.volumeReports(p, prim, sec)
		return finish(r)
	}
	if rec, yes := d.failedOver(p, prim, sec); yes {
		d.reverted(p, prim, sec, rec, &r)
		r.Volumes = d.volumeReports(p, prim, sec)
		d.drill(p, prim, sec, &r, true)
		return finish(r)
	}

	if prim.Observed() {
		d.primary(p, prim)
	}
	if run, ok := d.in.Schedules[p.Name()]; ok && s.Schedule.Consistency == plans.ApplicationConsistent {
		r.Schedule = &run
	}
	targetOK := true
	if sec.Observed() {
		if problem := backupTargetProblem(s.BackupTarget, s.Primary, prim, s.Secondary, sec); problem != "" {
			r.Problems = append(r.Problems, problem)
			targetOK = false
		}
	}
	if sec.Observed() && targetOK {
		r.Waiting = append(r.Waiting, d.secondary(p, prim, sec)...)
		r.Orphans = d.orphans(p, sec)
	}
	r.Volumes = d.volumeReports(p, prim, sec)
	if prev := d.previousFailover(p, prim, sec); prev != nil {
		r.Reprotected = true
		if sec.Observed() {
			r.Stale = d.stale(p, prev, sec, r.Volumes)
		}
	}
	d.drill(p, prim, sec, &r, false)
	return finish(r)
}

func finish(r PlanReport) PlanReport {
	for _, v := range r.Volumes {
		r.RPOBreach = r.RPOBreach || v.RPOBreach
		if v.State == StandbyFaulted {
			r.Problems = append(r.Problems, v.Reason)
		}
	}
	r.Lifecycle = lifecycle(&r)
	return r
}

// primary wants the plan's RecurringJob and each source volume bound to it, and no other volume.
// With application-consistent backups the agent runs the schedule itself: then it wants no
// RecurringJob (its own is deleted, and with it Longhorn removes the job's volume labels) and
// no volume bound to it.
func (d *decider) primary(p *plans.Plan, prim *observed.State) {
	name := JobName(p.Name())
	have := prim.RecurringJob(name)
	agentRun := p.Spec.Schedule.Consistency == plans.ApplicationConsistent
	switch {
	case agentRun && have != nil && owned(d.in.Owner, have.Labels):
		d.add(&DeleteRecurringJob{Target: Target{prim.Name, p.Name()}, Namespace: have.Namespace, Name: have.Name,
			Reason: "schedule.consistency is application: the agent takes the scheduled backups between the hooks"})
	case agentRun:
	default:
		want := desiredJob(p, d.in.Namespace, d.in.Owner)
		if have == nil || !jobMatches(have, want) {
			d.add(&ApplyRecurringJob{Target: Target{prim.Name, p.Name()}, Job: want, Create: have == nil})
		}
	}

	label := longhorn.RecurringJobLabel(name)
	inPlan := map[string]bool{}
	for _, v := range p.Spec.Volumes {
		inPlan[v.Name] = !agentRun
	}
	for i := range prim.Volumes {
		v := &prim.Volumes[i]
		bound := v.Labels[label] == longhorn.LabelValueEnabled
		switch {
		case inPlan[v.Name] && !bound:
			d.add(&PatchVolumeLabels{Target: Target{prim.Name, p.Name()}, Namespace: v.Namespace, Volume: v.Name,
				Set: map[string]string{label: longhorn.LabelValueEnabled}, Claim: sourceClaim(v)})
		case !inPlan[v.Name] && hasKey(v.Labels, label):
			d.add(&PatchVolumeLabels{Target: Target{prim.Name, p.Name()}, Namespace: v.Namespace, Volume: v.Name,
				Remove: []string{label}, Claim: sourceClaim(v)})
		}
	}
}

// desiredJob is the plan's RecurringJob: task backup on the plan's cron, bound by its own label
// (no groups, so Longhorn's default group never pulls other volumes in).
func desiredJob(p *plans.Plan, ns, owner string) *longhorn.RecurringJob {
	name := JobName(p.Name())
	j := &longhorn.RecurringJob{}
	j.APIVersion = longhorn.SchemeGroupVersion.String()
	j.Kind = "RecurringJob"
	j.Name, j.Namespace = name, ns
	j.Labels = ownedLabels(owner, map[string]string{LabelPlan: p.Name()})
	j.Spec = longhorn.RecurringJobSpec{
		Name:        name,
		Task:        longhorn.RecurringJobTaskBackup,
		Cron:        p.Spec.Schedule.Cron,
		Retain:      p.Spec.Schedule.Retain,
		Concurrency: p.Spec.Schedule.Concurrency,
		Groups:      []string{},
		Labels:      map[string]string{LabelPlan: p.Name()},
	}
	return j
}

func jobMatches(have, want *longhorn.RecurringJob) bool {
	h, w := have.Spec, want.Spec
	return h.Task == w.Task && h.Cron == w.Cron && h.Retain == w.Retain && h.Concurrency == w.Concurrency &&
		len(h.Groups) == 0 && h.Labels[LabelPlan] == w.Labels[LabelPlan] &&
		have.Labels[LabelManagedBy] == ManagedByValue && have.Labels[LabelPlan] == want.Labels[LabelPlan] &&
		have.Labels[LabelOwner] == want.Labels[LabelOwner]
}

// backupTargetProblem checks that the plan's BackupTarget exists in the secondary and, when the
// primary is observed, points at the same store there: standby volumes restore from what the
// primary backs up only if both read one store.
func backupTargetProblem(target, primName string, prim *observed.State, secName string, sec *observed.State) string {
	st := sec.BackupTarget(target)
	if st == nil {
		return fmt.Sprintf("backup target %s not found in cluster %s", target, secName)
	}
	if !prim.Observed() {
		return ""
	}
	pt := prim.BackupTarget(target)
	if pt == nil {
		return fmt.Sprintf("backup target %s not found in cluster %s", target, primName)
	}
	if pt.Spec.BackupTargetURL != st.Spec.BackupTargetURL {
		return fmt.Sprintf("backup target %s points at %q in cluster %s but at %q in cluster %s: both must use the same store",
			target, redactURL(pt.Spec.BackupTargetURL), primName, redactURL(st.Spec.BackupTargetURL), secName)
	}
	return ""
}

// ownedLabels are the labels of an object drplan creates: managed-by, owner, and extra.
func ownedLabels(owner string, extra map[string]string) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedByValue}
	if owner != "" {
		l[LabelOwner] = owner
	}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// owned reports whether drplan with owner created the object with labels.
func owned(owner string, labels map[string]string) bool {
	return labels[LabelManagedBy] == ManagedByValue && labels[LabelOwner] == owner
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// knownPlans are the names of every plan of the revision, valid or not.
func (d *decider) knownPlans() map[string]bool {
	known := map[string]bool{}
	for _, n := range d.in.Plans.Names() {
		known[n] = true
	}
	for _, n := range d.in.Others {
		known[n] = true
	}
	return known
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return slices.Clip(out)
}
