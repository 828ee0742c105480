package agent

import (
	"context"
	"sort"
	"time"

	"github.com/go-logr/logr"

	"github.com/drplan/drplan/internal/executor"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/source"
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
	if fetch && !start.Before(l.nextFetchAt) {
		l.fetch(ctx)
	}

	states := a.states(ctx)

	var res planner.Result
	if l.set != nil {
		var known []string
		for _, p := range l.set.Plans {
			known = append(known, p.Name())
		}
		in := planner.Input{
			Plans:      l.set.Valid(),
			KnownPlans: known,
			Clusters:   states,
			Revision:   l.snap.Revision,
			Now:        time.Now(),
			Namespace:  a.cfg.LonghornNamespace,
			Owner:      a.owner(),
			Incomplete: incomplete(l.set, l.problems),
		}
		l.readFailoverGates(ctx, in)
		res = planner.Decide(in)
	} else {
		res = planner.Decide(planner.Input{Clusters: states, Now: time.Now(), Namespace: a.cfg.LonghornNamespace, KnownPlans: nil})
		// Without any revision, nothing is known about plans: report none rather than orphans.
		res.Actions, res.Report.Plans = nil, nil
	}

	outcomes := a.exec.Execute(ctx, res.Actions)
	for _, o := range outcomes {
		if o.Err != nil {
			log.Error(o.Err, "action failed", "cluster", o.Action.Cluster(), "plan", o.Action.Plan())
		}
	}
	report := res.Report
	report.Plans = append(report.Plans, l.invalidPlans()...)
	sort.SliceStable(report.Plans, func(i, j int) bool { return report.Plans[i].Name < report.Plans[j].Name })

	st := Status{
		UpdatedAt: time.Now().UTC(),
		Source:    l.sourceStatus(),
		Clusters:  report.Clusters,
		Plans:     report.Plans,
		Problems:  problemStrings(l.problems),
		LastPass:  PassStatus{At: start.UTC(), Duration: time.Since(start).String(), Actions: len(outcomes), Errors: errorStrings(outcomes)},
	}
	a.status.set(st)
	a.metrics.observe(st, outcomes, time.Since(start))
	a.afterPass(l.snap, l.problems, res, outcomes)
	if len(outcomes) > 0 {
		log.Info("pass done", "revision", l.snap.Revision, "actions", len(outcomes), "errors", len(st.LastPass.Errors), "duration", time.Since(start))
	} else {
		log.V(1).Info("pass done", "revision", l.snap.Revision, "actions", 0, "duration", time.Since(start))
	}
	return res.RequeueAfter
}

// readFailoverGates reads the failover gates the caches do not hold (only while a failover runs)
// into the states the pass decides on.
func (l *loop) readFailoverGates(ctx context.Context, in planner.Input) {
	for name, refs := range planner.FailoverReads(in) {
		c, s := l.a.clusters[name], in.Clusters[name]
		if c == nil || s == nil {
			continue
		}
		objs, err := c.ReadObjects(ctx, refs)
		if err != nil {
			logr.FromContextOrDiscard(ctx).Error(err, "read failover gates", "cluster", name)
		}
		s.Objects = objs
	}
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

// invalidPlans reports the plans that are not applied, with their problems.
func (l *loop) invalidPlans() []planner.PlanReport {
	if l.set == nil {
		return nil
	}
	var out []planner.PlanReport
	for _, p := range l.set.Plans {
		if p.Valid() {
			continue
		}
		r := planner.PlanReport{Name: p.Name(), Primary: p.Spec.Primary, Secondary: p.Spec.Secondary, Failover: p.Spec.Failover,
			File: p.File, Invalid: true, Volumes: []planner.VolumeReport{}}
		for _, pr := range p.Problems {
			r.Problems = append(r.Problems, pr.String())
		}
		out = append(out, r)
	}
	return out
}

func (l *loop) sourceStatus() SourceStatus {
	st := l.a.source.Status()
	s := SourceStatus{
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

// incomplete reports whether some problems belong to no plan (a file that does not parse):
// plans may then be missing from the set.
func incomplete(set *plans.Set, problems []plans.Problem) bool {
	n := 0
	for _, p := range set.Plans {
		n += len(p.Problems)
	}
	return len(problems) > n
}

func problemStrings(ps []plans.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
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
