package agent

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/robfig/cron/v3"

	"github.com/drplan/drplan/internal/backups"
	"github.com/drplan/drplan/internal/hooks"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/plans"
)

// scheduler runs the application-consistent schedules of the plans the leader drives: one cron
// entry per plan, on the plan's cron (the same parser and UTC as the plan's validation and
// Longhorn's recurring jobs), each run the plan's hooks around its snapshots, then its backups.
// A run still going when the next is due is skipped (cron.SkipIfStillRunning); a run missed while
// no replica led is not made up for: the RPO alerts say so.
type scheduler struct {
	a    *Agent
	cron *cron.Cron
	ctx  context.Context

	mu      sync.Mutex
	entries map[string]scheduleEntry
	plans   map[string]*plans.Plan
	last    map[string]planner.ScheduleRun
}

type scheduleEntry struct {
	spec string
	id   cron.EntryID
}

// start starts the cron; it stops when ctx (the leader's) ends.
func (s *scheduler) start(ctx context.Context) {
	s.ctx = ctx
	s.entries, s.plans, s.last = map[string]scheduleEntry{}, map[string]*plans.Plan{}, map[string]planner.ScheduleRun{}
	s.cron = cron.New(cron.WithLocation(time.UTC), cron.WithChain(cron.Recover(cronLogger{logr.FromContextOrDiscard(ctx)})))
	s.cron.Start()
	go func() {
		<-ctx.Done()
		<-s.cron.Stop().Done()
	}()
}

// sync makes the entries those of the plans the pass drove (valid, claimed, not suspended, not
// failing over) whose schedule is application-consistent.
func (s *scheduler) sync(in planner.Input, res planner.Result) {
	if s.cron == nil {
		return
	}
	want := map[string]*plans.Plan{}
	if in.Plans != nil {
		driven := map[string]bool{}
		for _, r := range res.Report.Plans {
			driven[r.Name] = !r.Suspended && !r.Refused && !r.Invalid && !r.Failover
		}
		for _, p := range in.Plans.Valid() {
			if driven[p.Name()] && p.Spec.Schedule.Consistency == plans.ApplicationConsistent {
				want[p.Name()] = p
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, e := range s.entries {
		if p, ok := want[name]; !ok || p.Spec.Schedule.Cron != e.spec {
			s.cron.Remove(e.id)
			delete(s.entries, name)
		}
	}
	s.plans = want
	for name, p := range want {
		if _, ok := s.entries[name]; ok {
			continue
		}
		sched, err := plans.ParseCron(p.Spec.Schedule.Cron)
		if err != nil {
			continue // validation refused the plan already
		}
		job := cron.NewChain(cron.SkipIfStillRunning(cronLogger{s.a.log})).Then(cron.FuncJob(func() { s.run(name) }))
		s.entries[name] = scheduleEntry{spec: p.Spec.Schedule.Cron, id: s.cron.Schedule(sched, job)}
	}
}

// runs are the last run and the next of each scheduled plan, for the planner's reports.
func (s *scheduler) runs() map[string]planner.ScheduleRun {
	if s.cron == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]planner.ScheduleRun, len(s.entries))
	for name, e := range s.entries {
		r := s.last[name]
		r.Next = s.cron.Entry(e.id).Next.UTC()
		out[name] = r
	}
	return out
}

// run makes one scheduled run of the plan named name, as the plan stands now.
func (s *scheduler) run(name string) {
	s.mu.Lock()
	p, e := s.plans[name], s.entries[name]
	s.mu.Unlock()
	if p == nil {
		return
	}
	log := s.a.log.WithValues("plan", name, "cluster", p.Spec.Primary)
	c := s.a.clusters[p.Spec.Primary]
	// The run is named by the time it was due (cron set Prev to it as it started the run), so
	// that its CRs are named alike however late it starts.
	at := s.cron.Entry(e.id).Prev.UTC()
	if at.IsZero() {
		at = time.Now().UTC().Truncate(time.Second)
	}
	log.Info("scheduled backup started", "consistency", p.Spec.Schedule.Consistency, "cron", p.Spec.Schedule.Cron)
	sch := &backups.Schedule{Runner: &hooks.Runner{Client: c.Client(), Config: c.RESTConfig()}, Namespace: s.a.cfg.LonghornNamespace, Owner: s.a.owner()}
	run := sch.Run(logr.NewContext(s.ctx, log), p, at)
	rep := planner.ScheduleRun{At: at, Finished: run.Finished.UTC()}
	for _, w := range run.Waves {
		if w.Backups == nil {
			continue // a pruning or waiting problem, said in Err
		}
		rep.Waves = append(rep.Waves, planner.ScheduleWave{Wave: w.Wave, Consistency: w.Consistency, Hooks: w.Hooks, Backups: len(w.Backups)})
		result := "ok"
		if w.Err != nil {
			result = "error"
		}
		s.a.metrics.scheduledBackups.WithLabelValues(name, string(w.Consistency), result).Add(float64(max(len(w.Backups), 1)))
	}
	if err := run.Err(); err != nil {
		rep.Error = err.Error()
		log.Error(err, "scheduled backup failed", "duration", run.Finished.Sub(run.Started))
	} else {
		log.Info("scheduled backup done", "waves", len(run.Waves), "duration", run.Finished.Sub(run.Started))
	}
	s.mu.Lock()
	s.last[name] = rep
	s.mu.Unlock()
	s.a.trigger()
}

// cronLogger is robfig/cron's logger over logr.
type cronLogger struct{ log logr.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.V(1).Info("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) { l.log.Error(err, "cron: "+msg, kv...) }
