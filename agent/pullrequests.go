package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/executor"
	"github.com/drplan/drplan/internal/forge"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/report"
	"github.com/drplan/drplan/internal/source"
	"github.com/drplan/drplan/plans"
)

// progressEvery bounds how often a failover's progress comment is edited.
const progressEvery = 10 * time.Second

// passResult is what a pass of the loop hands to the pull-request reporter.
type passResult struct {
	snap     source.Snapshot
	problems []plans.Problem
	res      planner.Result
	outcomes []executor.Outcome
}

// prReporter keeps pull requests informed, in a goroutine of its own so that a forge that is
// down or rate-limits never holds up reconciliation: a preview comment and a drplan/validate
// status on every open pull request that touches the plans, then, after merge, what was
// applied and the failover's progress on the pull request the revision came from (or, for a
// commit pushed without one, a commit status and a commit comment).
type prReporter struct {
	a      *Agent
	f      forge.Forge
	filter *forge.PathFilter
	log    logr.Logger

	mu      sync.Mutex
	pending *passResult
	wake    chan struct{}
	prs     chan struct{}

	// previewed is the head each pull request was last previewed at: a preview is written once
	// per head commit, not on every pass (lag figures change all the time).
	previewed map[int]string
	// applied is the revision whose applied comment was written, and where.
	applied      string
	appliedPR    *forge.PullRequest
	lastProgress string
	progressAt   time.Time
	retryAt      time.Time
}

func newPRReporter(a *Agent, f forge.Forge) *prReporter {
	return &prReporter{a: a, f: f, filter: &forge.PathFilter{Forge: f, Dir: a.cfg.Repo.Path}, wake: make(chan struct{}, 1), prs: make(chan struct{}, 1), previewed: map[int]string{}}
}

// NeedLeaderElection: only the leader comments.
func (r *prReporter) NeedLeaderElection() bool { return true }

// passDone hands over a pass without blocking; only the newest is kept.
func (r *prReporter) passDone(p passResult) {
	r.mu.Lock()
	r.pending = &p
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// pullRequestEvent asks for previews now (a webhook said a pull request changed).
func (r *prReporter) pullRequestEvent() {
	select {
	case r.prs <- struct{}{}:
	default:
	}
}

// Start runs until ctx ends.
func (r *prReporter) Start(ctx context.Context) error {
	r.log = r.a.log.WithValues("forge", r.f.Kind())
	ctx = logr.NewContext(ctx, r.log)
	tick := time.NewTicker(r.a.cfg.Repo.Interval.Duration)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			r.previews(ctx)
			r.report(ctx)
		case <-r.prs:
			r.previews(ctx)
		case <-r.wake:
			r.report(ctx)
		}
	}
}

// backoff tells whether the forge asked to wait, and remembers for how long.
func (r *prReporter) backoff(err error) {
	wait := 30 * time.Second
	if d, ok := forge.RetryAfter(err); ok && d > wait {
		wait = d
	}
	r.retryAt = time.Now().Add(wait)
	r.log.Error(err, "forge request failed; retrying later", "retryIn", wait)
}

// previews writes a preview for every open pull request whose head was not previewed yet.
func (r *prReporter) previews(ctx context.Context) {
	if time.Now().Before(r.retryAt) {
		return
	}
	base := r.a.cfg.Repo.Ref.Branch
	if base == "" {
		return // a tag or a commit is tracked: there are no pull requests into it
	}
	prs, err := r.filter.OpenPullRequests(ctx, base)
	if err != nil {
		r.backoff(err)
		return
	}
	for _, pr := range prs {
		if r.previewed[pr.Number] == pr.HeadSHA {
			continue
		}
		if err := r.preview(ctx, pr); err != nil {
			if errors.Is(err, forge.ErrRateLimited) || errors.Is(err, forge.ErrUnavailable) {
				r.backoff(err)
				return
			}
			r.log.Error(err, "preview pull request", "pr", pr.Number)
			continue
		}
		r.previewed[pr.Number] = pr.HeadSHA
	}
}

// preview loads the plans at the pull request's head, decides against the live clusters
// (read-only: nothing is executed), and writes the comment and the commit status.
func (r *prReporter) preview(ctx context.Context, pr forge.PullRequest) error {
	snap, err := r.a.source.FetchRef(ctx, pr.HeadRef)
	if err != nil {
		return fmt.Errorf("preview pull request %d: %w", pr.Number, err)
	}
	set, problems := plans.LoadFS(snap.FS, ".", plans.WithClusters(r.a.cfg.ClusterNames()...))
	states := r.a.states(ctx)
	res := planner.Decide(planner.Input{Plans: set.Valid(), KnownPlans: planNames(set), Clusters: states, Now: time.Now(),
		Namespace: r.a.cfg.LonghornNamespace, Owner: r.a.owner(), Incomplete: incomplete(set, problems), Revision: snap.Revision})
	in := report.PreviewInput{Revision: snap.Revision, Problems: problemStrings(problems), Report: res.Report, Actions: res.Actions,
		Failovers: previewFailovers(set, r.a.status.get(), res.Report)}
	content := report.Preview(in)
	c, err := r.f.UpsertComment(ctx, pr.Number, report.Marker, r.compose(content))
	if err != nil {
		return fmt.Errorf("preview comment on pull request %d: %w", pr.Number, err)
	}
	ok, line := in.Valid()
	state := forge.StateSuccess
	if !ok {
		state = forge.StateFailure
	}
	if err := r.f.SetCommitStatus(ctx, snap.Revision, forge.Status{Context: forge.ValidateContext, State: state, Description: line, TargetURL: c.URL}); err != nil {
		return fmt.Errorf("validate status on pull request %d: %w", pr.Number, err)
	}
	r.log.Info("pull request previewed", "pr", pr.Number, "head", snap.Revision, "valid", ok, "comment", c.Result)
	return nil
}

// report writes what the newest pass applied, once per revision, then the failover's progress.
func (r *prReporter) report(ctx context.Context) {
	r.mu.Lock()
	p := r.pending
	r.mu.Unlock()
	if p == nil || p.snap.Revision == "" || time.Now().Before(r.retryAt) {
		return
	}
	rev := p.snap.Revision
	if rev != r.applied {
		if err := r.reportApplied(ctx, p); err != nil {
			r.backoff(err)
			return
		}
		r.applied = rev
		r.lastProgress, r.progressAt = "", time.Time{}
	}
	fos := progressFailovers(p.res.Report, rev)
	if len(fos) == 0 || time.Since(r.progressAt) < progressEvery {
		return
	}
	content := report.Progress(report.ProgressInput{Revision: rev, Now: time.Now(), Failovers: fos})
	if content == r.lastProgress {
		return
	}
	if err := r.write(ctx, rev, content); err != nil {
		r.backoff(err)
		return
	}
	r.lastProgress, r.progressAt = content, time.Now()
}

func (r *prReporter) reportApplied(ctx context.Context, p *passResult) error {
	rev := p.snap.Revision
	pr, err := r.f.PullRequestForCommit(ctx, rev)
	if err != nil {
		return fmt.Errorf("find the pull request of %s: %w", rev, err)
	}
	r.appliedPR = pr
	outcomes := make([]report.Outcome, len(p.outcomes))
	failed := 0
	for i, o := range p.outcomes {
		outcomes[i] = report.Outcome{Action: o.Action, Err: o.Err}
		if o.Err != nil {
			failed++
		}
	}
	content := report.Applied(report.AppliedInput{Revision: rev, Problems: problemStrings(p.problems), Report: p.res.Report,
		Outcomes: outcomes, Failovers: progressFailovers(p.res.Report, rev)})
	if err := r.write(ctx, rev, content); err != nil {
		return err
	}
	if pr == nil {
		state, line := forge.StateSuccess, fmt.Sprintf("applied: %d change(s)", len(outcomes))
		if failed > 0 || len(p.problems) > 0 {
			state, line = forge.StateFailure, fmt.Sprintf("applied with %d failed change(s) and %d problem(s)", failed, len(p.problems))
		}
		if err := r.f.SetCommitStatus(ctx, rev, forge.Status{Context: forge.ValidateContext, State: state, Description: line}); err != nil {
			return fmt.Errorf("status on %s: %w", rev, err)
		}
	}
	r.log.Info("applied revision reported", "revision", rev, "pr", prNumber(pr), "changes", len(outcomes))
	return nil
}

// write puts content on the pull request the revision came from, or on the commit.
func (r *prReporter) write(ctx context.Context, rev, content string) error {
	if r.appliedPR != nil {
		_, err := r.f.UpsertComment(ctx, r.appliedPR.Number, report.Marker, r.compose(content))
		if err != nil {
			return fmt.Errorf("comment on pull request %d: %w", r.appliedPR.Number, err)
		}
		return nil
	}
	_, err := r.f.CommentOnCommit(ctx, rev, report.CommitMarker, func(prev string) string {
		return report.Compose(report.CommitMarker, prev, content, r.f.MaxCommentLen())
	})
	if err != nil && !errors.Is(err, forge.ErrNotSupported) {
		return fmt.Errorf("comment on commit %s: %w", rev, err)
	}
	return nil
}

func (r *prReporter) compose(content string) forge.Render {
	return func(prev string) string { return report.Compose(report.Marker, prev, content, r.f.MaxCommentLen()) }
}

// afterPass hands a pass to the pull-request reporter, when there is a forge.
func (a *Agent) afterPass(snap source.Snapshot, problems []plans.Problem, res planner.Result, outcomes []executor.Outcome) {
	if a.prs != nil {
		a.prs.passDone(passResult{snap: snap, problems: problems, res: res, outcomes: outcomes})
	}
}

// states reads every cluster from its cache; a cluster whose cache cannot be read counts as not
// observed.
func (a *Agent) states(ctx context.Context) map[string]*cluster.State {
	out := make(map[string]*cluster.State, len(a.clusters))
	for name, c := range a.clusters {
		s, err := c.State(ctx)
		if err != nil {
			logr.FromContextOrDiscard(ctx).Error(err, "read cluster state", "cluster", name)
			s = &cluster.State{Name: name}
		}
		out[name] = s
	}
	return out
}

func planNames(set *plans.Set) []string {
	out := make([]string, 0, len(set.Plans))
	for _, p := range set.Plans {
		out = append(out, p.Name())
	}
	return out
}

func prNumber(pr *forge.PullRequest) int {
	if pr == nil {
		return 0
	}
	return pr.Number
}

// previewFailovers are the plans a pull request would turn failover on for: what would happen
// if it ran now, wave by wave, with each volume's current lag.
func previewFailovers(set *plans.Set, now Status, rep planner.Report) []report.Failover {
	running := map[string]bool{}
	for _, p := range now.Plans {
		if p.Failover {
			running[p.Name] = true
		}
	}
	byName := map[string]planner.PlanReport{}
	for _, p := range rep.Plans {
		byName[p.Name] = p
	}
	var out []report.Failover
	for _, p := range set.Valid() {
		if !p.Spec.Failover || running[p.Name()] {
			continue
		}
		pr := byName[p.Name()]
		vols := map[string]planner.VolumeReport{}
		for _, v := range pr.Volumes {
			vols[v.Name] = v
		}
		// The decision at the head already sees failover on: the volume states come from the
		// tracked status, where the plan is still protecting.
		for _, sp := range now.Plans {
			if sp.Name == p.Name() {
				for _, v := range sp.Volumes {
					vols[v.Name] = v
				}
			}
		}
		f := report.Failover{Plan: p.Name(), Primary: p.Spec.Primary, Secondary: p.Spec.Secondary, RPO: p.Spec.RPO.Duration}
		for _, w := range p.Spec.Waves {
			st := report.Step{Name: planner.WaveStep(w.Name), Wave: w.Name}
			for _, v := range p.Spec.Volumes {
				if v.Wave != w.Name {
					continue
				}
				vr := vols[v.Name]
				st.Volumes = append(st.Volumes, report.Volume{Name: v.Name, State: string(vr.State), Lag: vr.Lag.Duration, LagKnown: vr.LagKnown})
			}
			for _, g := range w.Gates {
				st.Gates = append(st.Gates, report.Gate{Kind: g.Kind, Namespace: g.Namespace, Name: g.Name, Timeout: g.Timeout.Duration})
			}
			for _, sc := range w.Scale {
				st.Scale = append(st.Scale, fmt.Sprintf("%s %s/%s to %d", sc.Kind, sc.Namespace, sc.Name, sc.Replicas))
			}
			f.Steps = append(f.Steps, st)
		}
		out = append(out, f)
	}
	return out
}

// progressFailovers maps the failovers the revision started (or is running) to the report's shape.
func progressFailovers(rep planner.Report, rev string) []report.Failover {
	var out []report.Failover
	for _, p := range rep.Plans {
		fs := p.FailoverStatus
		if fs == nil || fs.Phase == planner.FailoverReverted || (fs.Revision != "" && fs.Revision != rev) {
			continue
		}
		vols := map[string]planner.FailoverVolumeReport{}
		for _, v := range fs.Volumes {
			vols[v.Name] = v
		}
		f := report.Failover{Plan: p.Name, Primary: p.Primary, Secondary: p.Secondary, Phase: report.Phase(fs.Phase), Planned: fs.Planned,
			Revision: fs.Revision, StartedAt: fs.StartedAt, FinishedAt: fs.FinishedAt, RPO: p.RPO.Duration, Waiting: fs.Waiting, Notes: fs.Notes}
		for _, s := range fs.Steps {
			st := report.Step{Name: s.Name, State: report.StepState(s.State), StartedAt: s.StartedAt, FinishedAt: s.FinishedAt, Waiting: s.Waiting, Note: s.Note}
			if w, ok := strings.CutPrefix(s.Name, planner.WaveStep("")); ok {
				st.Wave = w
			}
			for _, vn := range s.Volumes {
				v := vols[vn]
				st.Volumes = append(st.Volumes, report.Volume{Name: vn, Active: v.Active, Lag: v.DataLoss.Duration, LagKnown: v.DataLossKnown})
			}
			for _, g := range s.Gates {
				st.Gates = append(st.Gates, report.Gate{Kind: g.Kind, Namespace: g.Namespace, Name: g.Name, Timeout: g.Timeout.Duration,
					Ready: g.Ready, Message: g.Message, TimedOut: g.TimedOut})
			}
			f.Steps = append(f.Steps, st)
		}
		for _, e := range fs.Timeline {
			f.Timeline = append(f.Timeline, report.Event{At: e.At, Event: e.Event})
		}
		out = append(out, f)
	}
	return out
}
