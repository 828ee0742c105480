package agent

import (
	"context"
	"time"

	"github.com/go-logr/logr"

	"github.com/drplan/drplan/internal/clusterstatus"
	"github.com/drplan/drplan/internal/executor"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/planstatus"
	"github.com/drplan/drplan/internal/pullrequests"
	"github.com/drplan/drplan/internal/report"
	"github.com/drplan/drplan/internal/source"
	"github.com/drplan/drplan/internal/status"
	"github.com/drplan/drplan/plans"
)

// debounce gathers the cache events that arrive together into one pass.
const debounce = 200 * time.Millisecond

// loop runs passes while this replica leads.
type loop struct {
	a *Agent

	snap        source.Snapshot
	set         *plans.Set
	problems    []plans.Problem
	nextFetchAt time.Time
	// written are the status objects written lately, until the caches show them.
	written map[clusterstatus.Key]writtenObject
	// sched runs the application-consistent schedules while this replica leads.
	sched scheduler
}

var _ interface{ NeedLeaderElection() bool } = (*loop)(nil)

// NeedLeaderElection: only the leader acts.
func (l *loop) NeedLeaderElection() bool { return true }

// Start runs passes until ctx ends.
func (l *loop) Start(ctx context.Context) error {
	// The manager hands runnables a context of its own: put the agent's logger back in.
	ctx = logr.NewContext(ctx, l.a.log)
	log := l.a.log
	for _, c := range l.a.clusters {
		if err := c.Start(ctx); err != nil {
			return err
		}
	}
	l.sched.a = l.a
	l.sched.start(ctx)
	fetchTick := time.NewTicker(l.a.cfg.Repo.Interval.Duration)
	defer fetchTick.Stop()
	resync := time.NewTicker(l.a.opts.Resync)
	defer resync.Stop()
	log.Info("leading: loop started", "interval", l.a.cfg.Repo.Interval.Duration, "resync", l.a.opts.Resync)
	fetch := true
	for {
		requeue := l.pass(ctx, fetch)
		fetch = false
		select {
		case <-ctx.Done():
			return nil
		case <-after(requeue):
		case <-fetchTick.C:
			fetch = true
		case <-l.a.fetches:
			fetch, l.nextFetchAt = true, time.Time{}
		case <-resync.C:
		case <-l.a.triggers:
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(debounce):
			}
		}
	}
}

// after fires once after d; never when d is zero.
func after(d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	return time.After(d)
}

// pass is one level-triggered reconciliation of every plan. It returns when the planner asked
// for the next pass at the latest (zero: no need).
func (l *loop) pass(ctx context.Context, fetch bool) time.Duration {
	a := l.a
	log := logr.FromContextOrDiscard(ctx)
	start := time.Now()
	fetched := fetch && !start.Before(l.nextFetchAt)
	if fetched {
		l.fetch(ctx)
	}

	res, in := a.observer.decideWithInput(ctx, l.set, l.snap.Revision, a.authz, passState{schedules: l.sched.runs(), hookFailures: a.exec.HookFailures()})
	l.sched.sync(in, res)
	a.perms.annotate(res.Report.Clusters)
	outcomes := a.exec.Execute(ctx, res.Actions)
	for _, o := range outcomes {
		if o.Err != nil {
			log.Error(o.Err, "action failed", "cluster", o.Action.Cluster(), "plan", o.Action.Plan())
		}
	}
	l.writeStatusObjects(ctx, res, in)
	plansReport := res.Report.Plans
	if plansReport == nil {
		plansReport = []planner.PlanReport{}
	}
	if a.rev != nil {
		a.rev.annotate(plansReport)
		a.rev.passDone(l.snap, res.Reversals)
	}
	st := status.Status{
		UpdatedAt: time.Now().UTC(),
		Source:    l.sourceStatus(),
		Clusters:  res.Report.Clusters,
		Plans:     plansReport,
		Problems:  problemStrings(l.problems),
		LastPass:  status.PassStatus{At: start.UTC(), Duration: time.Since(start).String(), Actions: len(outcomes), Errors: errorStrings(outcomes), Fetched: fetched},
	}
	a.status.Set(st)
	a.metrics.observe(st, outcomes, time.Since(start))
	if a.prs != nil {
		a.prs.PassDone(pullrequests.Pass{Decision: pullrequests.Decision{Revision: l.snap.Revision, Problems: l.problems, Result: res},
			Outcomes: reportOutcomes(outcomes)})
	}
	if len(outcomes) > 0 {
		log.Info("pass done", "revision", l.snap.Revision, "actions", len(outcomes), "errors", len(st.LastPass.Errors), "duration", time.Since(start))
	} else {
		log.V(1).Info("pass done", "revision", l.snap.Revision, "actions", 0, "duration", time.Since(start))
	}
	return res.RequeueAfter
}

// writtenFor is how long an object the loop wrote stands in for the cache's copy until the
// cache shows it (see clusterstatus.Input.Written).
const writtenFor = 10 * time.Second

// writeStatusObjects brings the plans' status objects in the clusters in line with this pass's
// reports. An object that already says it all is not written: an idle pass writes nothing.
func (l *loop) writeStatusObjects(ctx context.Context, res planner.Result, in planner.Input) {
	if in.Plans == nil {
		return
	}
	log := logr.FromContextOrDiscard(ctx)
	if l.written == nil {
		l.written = map[clusterstatus.Key]writtenObject{}
	}
	current := map[clusterstatus.Key]*planstatus.DRPlanStatus{}
	for k, w := range l.written {
		seen := in.Clusters[k.Cluster].PlanStatus(k.Name)
		if time.Since(w.at) > writtenFor || (seen != nil && seen.ResourceVersion == w.obj.ResourceVersion) {
			delete(l.written, k)
			continue
		}
		current[k] = w.obj
	}
	writes := clusterstatus.Plan(clusterstatus.Input{Plans: res.Report.Plans, Revision: l.snap.Revision, Others: in.Others,
		Complete: in.Plans.Complete(), Clusters: in.Clusters, Namespace: in.Namespace, Owner: in.Owner, Written: current})
	for _, w := range writes {
		c, ok := l.a.clusters[w.Cluster]
		if !ok {
			continue
		}
		obj, err := clusterstatus.Apply(ctx, c.Client(), w)
		if err != nil {
			log.Error(err, "write status object", "cluster", w.Cluster, "plan", w.Object.Name)
			continue
		}
		key := clusterstatus.Key{Cluster: w.Cluster, Name: w.Object.Name}
		delete(l.written, key)
		if obj != nil {
			l.written[key] = writtenObject{obj: obj, at: time.Now()}
		}
		reason := "StatusChanged"
		if w.Delete {
			reason = "PlanRemoved"
		}
		// The audit line of a status object write, as the executor's "action done" is of an action's.
		log.Info("status object written", "cluster", w.Cluster, "plan", w.Object.Name, "revision", l.snap.Revision,
			"object", "DRPlanStatus "+w.Object.Namespace+"/"+w.Object.Name, "fieldManager", clusterstatus.FieldManager, "reason", reason,
			"phase", w.Object.Status.Phase, "changed", w.Changed)
		if w.Warning != "" {
			l.a.events.Warning(w.Cluster, w.Object, w.Warning, w.WarningMessage)
		}
	}
}

// writtenObject is a status object the loop wrote, and when.
type writtenObject struct {
	obj *planstatus.DRPlanStatus
	at  time.Time
}

// fetch brings the plans up to date, keeping the last good revision when Git fails.
func (l *loop) fetch(ctx context.Context) {
	log := logr.FromContextOrDiscard(ctx)
	snap, changed, err := l.a.source.Fetch(ctx)
	if err != nil {
		st := l.a.source.Status()
		l.nextFetchAt = time.Now().Add(source.DefaultBackoff.Delay(st.Failures))
		log.Error(err, "fetch plans repo; keeping the last good revision", "revision", st.Revision, "failures", st.Failures, "retryIn", time.Until(l.nextFetchAt).Round(time.Second))
	} else {
		l.nextFetchAt = time.Time{}
	}
	if snap.IsZero() || (!changed && l.set != nil) {
		return
	}
	set, problems := plans.LoadFS(snap.FS, ".", plans.WithClusters(l.a.cfg.ClusterNames()...))
	l.snap, l.set, l.problems = snap, set, problems
	log.Info("plans loaded", "revision", snap.Revision, "plans", len(set.Plans), "valid", len(set.Valid()), "problems", len(problems))
}

func (l *loop) sourceStatus() status.SourceStatus {
	st := l.a.source.Status()
	s := status.SourceStatus{
		URL:          source.SanitizeURL(l.a.cfg.Repo.URL),
		Revision:     l.snap.Revision,
		Message:      firstLine(l.snap.Message),
		LastSuccess:  st.LastSuccess,
		FailingSince: st.FailingSince,
	}
	if !l.snap.CommittedAt.IsZero() {
		s.CommittedAt = l.snap.CommittedAt.UTC()
	}
	if st.LastError != nil {
		s.Error = st.LastError.Error()
	}
	return s
}

func problemStrings(ps []plans.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func reportOutcomes(outcomes []executor.Outcome) []report.Outcome {
	out := make([]report.Outcome, len(outcomes))
	for i, o := range outcomes {
		out[i] = report.Outcome{Action: o.Action, Err: o.Err}
	}
	return out
}

func errorStrings(outcomes []executor.Outcome) []string {
	var out []string
	for _, o := range outcomes {
		if o.Err != nil {
			out = append(out, o.Err.Error())
		}
	}
	return out
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
