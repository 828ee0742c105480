package pullrequests

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/drplan/drplan/internal/forge"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/report"
	"github.com/drplan/drplan/plans"
)

// Defaults of Options.
const (
	// DefaultProgressEvery bounds how often a failover's progress comment is edited.
	DefaultProgressEvery = 10 * time.Second
	// DefaultBackoff is the least wait after the forge failed.
	DefaultBackoff = 30 * time.Second
)

// Forge is what the reporter needs of a forge to write.
type Forge interface {
	Kind() forge.Kind
	MaxCommentLen() int
	PullRequestForCommit(ctx context.Context, sha string) (*forge.PullRequest, error)
	UpsertComment(ctx context.Context, number int, marker string, render forge.Render) (forge.Comment, error)
	SetCommitStatus(ctx context.Context, sha string, st forge.Status) error
	CommentOnCommit(ctx context.Context, sha, marker string, render forge.Render) (forge.Comment, error)
}

// Lister lists the open pull requests into base that touch the plans (forge.PathFilter).
type Lister interface {
	OpenPullRequests(ctx context.Context, base string) ([]forge.PullRequest, error)
}

var (
	_ Forge  = forge.Forge(nil)
	_ Lister = (*forge.PathFilter)(nil)
)

// Decision is the planner's decision for the plans of one revision.
type Decision struct {
	// Revision is the plans' commit.
	Revision string
	// Problems are the validation problems of the plans at Revision.
	Problems []plans.Problem
	// Result is what the planner decided against the live clusters.
	Result planner.Result
}

// PreviewFunc decides the plans at a pull request's head against the live clusters, changing
// nothing.
type PreviewFunc func(ctx context.Context, pr forge.PullRequest) (Decision, error)

// Pass is what one pass of the loop decided and carried out.
type Pass struct {
	Decision
	Outcomes []report.Outcome
}

// Options configure a Reporter.
type Options struct {
	// Forge is written to; PullRequests lists the pull requests to preview. Required.
	Forge        Forge
	PullRequests Lister
	// Base is the tracked branch; with none (a tag or a commit is tracked) there are no pull
	// requests to preview.
	Base string
	// Preview decides a pull request's head. Required.
	Preview PreviewFunc
	// Interval is how often open pull requests are listed without a webhook. Required.
	Interval time.Duration
	// ProgressEvery bounds how often progress is written; DefaultProgressEvery when zero.
	ProgressEvery time.Duration
	// Clock is the clock; the real one when nil.
	Clock clock.WithTicker
	// Log receives what the reporter did; Start adds the forge kind.
	Log logr.Logger
	// Shard is the agent's shard, when agents are sharded: each shard keeps a comment and a
	// commit status of its own, about its own plans.
	Shard string
}

// Reporter keeps pull requests informed. Its zero value is not usable: see New.
type Reporter struct {
	o     Options
	clock clock.WithTicker
	log   logr.Logger
	// marker, commitMarker and statusContext are this reporter's (its shard's).
	marker, commitMarker, statusContext string

	mu      sync.Mutex
	pending *Pass
	wake    chan struct{}
	prs     chan struct{}

	// previewed is the head each pull request was last previewed at.
	previewed map[int]string
	// applied is the revision whose applied comment was written, and appliedPR where.
	applied      string
	appliedPR    *forge.PullRequest
	lastProgress string
	progressAt   time.Time
	retryAt      time.Time
	// firstSeen is when the revision not yet applied was first seen without a pull request.
	firstSeen map[string]time.Time
	// refused is the refused-failover status last set, by revision.
	refused map[string]string
}

// PullRequestGrace is how long a new revision that no merged pull request names yet is given
// before it is reported as a commit pushed without one.
const PullRequestGrace = 15 * time.Second

var errNoPullRequestYet = errors.New("no merged pull request names the revision yet")

// New builds a Reporter.
func New(o Options) *Reporter {
	if o.ProgressEvery == 0 {
		o.ProgressEvery = DefaultProgressEvery
	}
	c := o.Clock
	if c == nil {
		c = clock.RealClock{}
	}
	return &Reporter{o: o, clock: c, log: o.Log, marker: report.ShardMarker(report.Marker, o.Shard), commitMarker: report.ShardMarker(report.CommitMarker, o.Shard),
		statusContext: forge.ShardContext(o.Shard), wake: make(chan struct{}, 1), prs: make(chan struct{}, 1), previewed: map[int]string{}}
}

// SetLogger sets the logger once it is known (the agent's comes with Run's context).
func (r *Reporter) SetLogger(log logr.Logger) { r.o.Log = log }

// NeedLeaderElection is true: only the leader comments.
func (r *Reporter) NeedLeaderElection() bool { return true }

// PassDone hands over a pass without blocking; only the newest is kept.
func (r *Reporter) PassDone(p Pass) {
	r.mu.Lock()
	r.pending = &p
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// PullRequestEvent asks for previews now (a webhook said a pull request changed).
func (r *Reporter) PullRequestEvent() {
	select {
	case r.prs <- struct{}{}:
	default:
	}
}

// Start runs until ctx ends.
func (r *Reporter) Start(ctx context.Context) error {
	r.log = r.o.Log.WithValues("forge", r.o.Forge.Kind())
	ctx = logr.NewContext(ctx, r.log)
	tick := r.clock.NewTicker(r.o.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C():
			r.previews(ctx)
			r.report(ctx)
		case <-r.prs:
			r.previews(ctx)
		case <-r.wake:
			r.report(ctx)
		}
	}
}

// backoff remembers how long the forge asked to be left alone.
func (r *Reporter) backoff(err error) {
	wait := DefaultBackoff
	if d, ok := forge.RetryAfter(err); ok && d > wait {
		wait = d
	}
	r.retryAt = r.clock.Now().Add(wait)
	r.log.Error(err, "forge request failed; retrying later", "retryIn", wait)
}

func (r *Reporter) backingOff() bool { return r.clock.Now().Before(r.retryAt) }

// previews writes a preview for every open pull request whose head was not previewed yet.
func (r *Reporter) previews(ctx context.Context) {
	if r.backingOff() || r.o.Base == "" {
		return
	}
	prs, err := r.o.PullRequests.OpenPullRequests(ctx, r.o.Base)
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

// preview decides the pull request's head (read-only) and writes the comment and the commit
// status.
func (r *Reporter) preview(ctx context.Context, pr forge.PullRequest) error {
	d, err := r.o.Preview(ctx, pr)
	if err != nil {
		return fmt.Errorf("preview pull request %d: %w", pr.Number, err)
	}
	in := report.PreviewInput{Revision: d.Revision, Problems: problemStrings(d.Problems), Report: d.Result.Report, Actions: d.Result.Actions}
	c, err := r.o.Forge.UpsertComment(ctx, pr.Number, r.marker, r.compose(report.Preview(in)))
	if err != nil {
		return fmt.Errorf("preview comment on pull request %d: %w", pr.Number, err)
	}
	ok, line := in.Valid()
	state := forge.StateSuccess
	if !ok {
		state = forge.StateFailure
	}
	if err := r.o.Forge.SetCommitStatus(ctx, d.Revision, forge.Status{Context: r.statusContext, State: state, Description: line, TargetURL: c.URL}); err != nil {
		return fmt.Errorf("validate status on pull request %d: %w", pr.Number, err)
	}
	r.log.Info("pull request previewed", "pr", pr.Number, "head", d.Revision, "valid", ok, "comment", c.Result)
	return nil
}

// report writes what the newest pass applied, once per revision, then the failover's progress.
func (r *Reporter) report(ctx context.Context) {
	r.mu.Lock()
	p := r.pending
	r.mu.Unlock()
	if p == nil || p.Revision == "" || r.backingOff() {
		return
	}
	rev := p.Revision
	if rev != r.applied {
		if err := r.reportApplied(ctx, p); errors.Is(err, errNoPullRequestYet) {
			return // the next pass asks again
		} else if err != nil {
			r.backoff(err)
			return
		}
		r.applied = rev
		r.lastProgress, r.progressAt = "", time.Time{}
	}
	if err := r.reportRefused(ctx, p); err != nil {
		r.backoff(err)
		return
	}
	fos, drills := report.Failovers(p.Result.Report, rev), report.Drills(p.Result.Report, rev)
	if (len(fos) == 0 && len(drills) == 0) || r.clock.Since(r.progressAt) < r.o.ProgressEvery {
		return
	}
	content := report.Progress(report.ProgressInput{Revision: rev, Now: r.clock.Now(), Failovers: fos, Drills: drills})
	if content == r.lastProgress {
		return
	}
	if err := r.write(ctx, rev, content); err != nil {
		r.backoff(err)
		return
	}
	r.lastProgress, r.progressAt = content, r.clock.Now()
}

func (r *Reporter) reportApplied(ctx context.Context, p *Pass) error {
	rev := p.Revision
	pr, err := r.o.Forge.PullRequestForCommit(ctx, rev)
	if err != nil {
		return fmt.Errorf("find the pull request of %s: %w", rev, err)
	}
	if pr == nil {
		// A forge may record a merge a moment after the merge commit is on the branch: a
		// revision seen for the first time is given PullRequestGrace to be found as a merge.
		if r.firstSeen[rev].IsZero() {
			r.firstSeen = map[string]time.Time{rev: r.clock.Now()}
		}
		if r.clock.Since(r.firstSeen[rev]) < PullRequestGrace {
			return errNoPullRequestYet
		}
	}
	r.appliedPR = pr
	failed := 0
	for _, o := range p.Outcomes {
		if o.Err != nil {
			failed++
		}
	}
	content := report.Applied(report.AppliedInput{Revision: rev, Problems: problemStrings(p.Problems), Report: p.Result.Report,
		Outcomes: p.Outcomes, Failovers: report.Failovers(p.Result.Report, rev), Drills: report.Drills(p.Result.Report, rev)})
	if err := r.write(ctx, rev, content); err != nil {
		return err
	}
	if pr == nil {
		state, line := forge.StateSuccess, fmt.Sprintf("applied: %d change(s)", len(p.Outcomes))
		if failed > 0 || len(p.Problems) > 0 {
			state, line = forge.StateFailure, fmt.Sprintf("applied with %d failed change(s) and %d problem(s)", failed, len(p.Problems))
		}
		if err := r.o.Forge.SetCommitStatus(ctx, rev, forge.Status{Context: r.statusContext, State: state, Description: line}); err != nil {
			return fmt.Errorf("status on %s: %w", rev, err)
		}
	}
	r.log.Info("applied revision reported", "revision", rev, "pr", prNumber(pr), "changes", len(p.Outcomes))
	return nil
}

// reportRefused fails the applied revision's commit status, once per reason, when a failover it
// asks for is not authorized: a reviewer reading only the status sees it.
func (r *Reporter) reportRefused(ctx context.Context, p *Pass) error {
	var lines []string
	for _, pl := range p.Result.Report.Plans {
		if fs := pl.FailoverStatus; fs != nil && fs.Phase == planner.FailoverUnauthorized && fs.AuthorizedBy != nil {
			lines = append(lines, fmt.Sprintf("failover of %s not authorized: %s", pl.Name, strings.Join(fs.AuthorizedBy.Reasons, "; ")))
		}
	}
	line := strings.Join(lines, "; ")
	if line == "" || line == r.refused[p.Revision] {
		return nil
	}
	st := forge.Status{Context: r.statusContext, State: forge.StateFailure, Description: line}
	if r.appliedPR != nil {
		st.TargetURL = r.appliedPR.URL
	}
	if err := r.o.Forge.SetCommitStatus(ctx, p.Revision, st); err != nil {
		return fmt.Errorf("status on %s: %w", p.Revision, err)
	}
	r.refused = map[string]string{p.Revision: line}
	r.log.Info("refused failover reported", "revision", p.Revision, "status", line)
	return nil
}

// write puts content on the pull request the revision came from, or on the commit.
func (r *Reporter) write(ctx context.Context, rev, content string) error {
	if r.appliedPR != nil {
		if _, err := r.o.Forge.UpsertComment(ctx, r.appliedPR.Number, r.marker, r.compose(content)); err != nil {
			return fmt.Errorf("comment on pull request %d: %w", r.appliedPR.Number, err)
		}
		return nil
	}
	_, err := r.o.Forge.CommentOnCommit(ctx, rev, r.commitMarker, func(prev string) string {
		return report.Compose(r.commitMarker, prev, content, r.o.Forge.MaxCommentLen())
	})
	if err != nil && !errors.Is(err, forge.ErrNotSupported) {
		return fmt.Errorf("comment on commit %s: %w", rev, err)
	}
	return nil
}

func (r *Reporter) compose(content string) forge.Render {
	return func(prev string) string {
		return report.Compose(r.marker, prev, content, r.o.Forge.MaxCommentLen())
	}
}

func problemStrings(ps []plans.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func prNumber(pr *forge.PullRequest) int {
	if pr == nil {
		return 0
	}
	return pr.Number
}
