package agent

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/drplan/drplan/internal/forge"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/source"
	"github.com/drplan/drplan/plans"
)

// reverseRetry is how long a proposal that failed waits before it is tried again, doubled
// after each failure up to reverseRetryMax.
const (
	reverseRetry    = time.Minute
	reverseRetryMax = 30 * time.Minute
)

// reverser proposes, as a pull request of its own, the plan that protects a failed-over plan
// again (planner.Reversal): one per failover, kept up to date by forge.ProposeChange (which
// changes nothing when called again with the same plan). It runs beside the loop, on the
// leader, so a slow forge never holds up a pass. A proposal that fails is tried again at the
// next pass after a growing wait, and the plan's report says why until it succeeds.
type reverser struct {
	forge forge.Forge
	base  string // the tracked branch
	log   logr.Logger
	wake  chan struct{}
	now   func() time.Time

	mu      sync.Mutex
	snap    source.Snapshot
	pending []planner.Reversal
	// proposals are each plan's proposal for its latest failover.
	proposals map[string]*proposal
}

// proposal is where the proposal of one failover of a plan stands.
type proposal struct {
	key      string // the failover (reversalKey)
	proposed bool
	url      string
	// err is the last failure while not proposed; failures counts them, retryAt is the next try.
	err      error
	failures int
	retryAt  time.Time
}

func newReverser(f forge.Forge, base string) *reverser {
	return &reverser{forge: f, base: base, log: logr.Discard(), wake: make(chan struct{}, 1), now: time.Now,
		proposals: map[string]*proposal{}}
}

// passDone hands the reverser a pass' reversals.
func (r *reverser) passDone(snap source.Snapshot, rs []planner.Reversal) {
	r.mu.Lock()
	r.snap, r.pending = snap, rs
	r.mu.Unlock()
	if len(rs) == 0 {
		return
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// annotate sets in each failed-over plan's report the reverse pull request proposed after its
// current failover, or why it could not be proposed yet.
func (r *reverser) annotate(ps []planner.PlanReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range ps {
		f := ps[i].FailoverStatus
		if f == nil || ps[i].Lifecycle != planner.LifecycleFailedOver {
			continue
		}
		p, ok := r.proposals[ps[i].Name]
		if !ok || p.key != reversalKey(ps[i].Name, planner.ReversalStartedAt(f.StartedAt)) {
			continue
		}
		switch {
		case p.proposed:
			ps[i].ReversePullRequest = p.url
		case p.err != nil:
			ps[i].ReverseProblem = fmt.Sprintf("the pull request that protects the volumes again could not be opened (%d attempts; next after %s): %v",
				p.failures, p.retryAt.UTC().Format(time.RFC3339), p.err)
		}
	}
}

// reversalKey names the proposal of one failover of a plan.
func reversalKey(plan, failoverStartedAt string) string { return plan + "@" + failoverStartedAt }

// Start proposes the pending reversals whenever a pass brings some (manager.Runnable).
func (r *reverser) Start(ctx context.Context) error {
	r.log = logr.FromContextOrDiscard(ctx).WithName("reverse")
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		}
		r.mu.Lock()
		snap, rs := r.snap, r.pending
		r.mu.Unlock()
		for _, rv := range rs {
			r.proposeOnce(ctx, snap, rv)
		}
	}
}

// proposeOnce proposes rv unless its failover's proposal is made or waits to be tried again.
func (r *reverser) proposeOnce(ctx context.Context, snap source.Snapshot, rv planner.Reversal) {
	name := rv.Plan.Name()
	key := reversalKey(name, rv.FailoverStartedAt)
	r.mu.Lock()
	p := r.proposals[name]
	if p == nil || p.key != key {
		p = &proposal{key: key}
		r.proposals[name] = p
	}
	skip := p.proposed || r.now().Before(p.retryAt)
	r.mu.Unlock()
	if skip {
		return
	}
	pr, err := r.propose(ctx, snap, rv)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		again := p.err == nil || p.err.Error() != err.Error()
		p.err = err
		p.failures++
		p.retryAt = r.now().Add(min(reverseRetry<<min(p.failures-1, 10), reverseRetryMax))
		if again {
			r.log.Error(err, "reversed plan not proposed", "plan", name, "retryAt", p.retryAt)
		} else {
			r.log.V(1).Info("reversed plan not proposed, the same failure again", "plan", name, "failures", p.failures, "retryAt", p.retryAt)
		}
		return
	}
	p.proposed, p.err = true, nil
	if pr != nil {
		p.url = pr.URL
	}
	r.log.Info("reversed plan proposed", "plan", name, "pr", p.url)
}

// propose writes the reversed plan into the plan's file in place of the plan's document, on a
// branch of the agent's, and opens or updates the pull request from it.
func (r *reverser) propose(ctx context.Context, snap source.Snapshot, rv planner.Reversal) (*forge.PullRequest, error) {
	p := rv.Plan
	raw, err := fs.ReadFile(snap.FS, p.File)
	if err != nil {
		return nil, fmt.Errorf("plan %s: read %s: %w", p.Name(), p.File, err)
	}
	s := rv.Reversed.Spec
	header := fmt.Sprintf("# Protects the volumes of %s again after its failover of %s: %s is the primary now, %s the secondary.\n"+
		"# Proposed by drplan; setting failover: true here is the failback.\n", p.Name(), rv.FailoverStartedAt, s.Primary, s.Secondary)
	content, err := plans.ReversedDocument(raw, p, rv.Reversed, header)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %s: %w", p.Name(), p.File, err)
	}
	file := path.Join(snap.Path, p.File)
	return r.forge.ProposeChange(ctx, forge.Proposal{
		Base:    r.base,
		Branch:  "drplan/reverse-" + p.Name(),
		Title:   fmt.Sprintf("drplan: protect %s again, %s → %s", p.Name(), s.Primary, s.Secondary),
		Body:    reverseBody(rv, file),
		Message: fmt.Sprintf("Protect %s again after its failover: %s → %s\n\nProposed by drplan after the failover of %s completed.", p.Name(), s.Primary, s.Secondary, rv.FailoverStartedAt),
		Files:   map[string]string{file: string(content)},
	})
}

// reverseBody explains the proposal to its reviewers.
func reverseBody(rv planner.Reversal, file string) string {
	p, s := rv.Plan, rv.Reversed.Spec
	var b strings.Builder
	fmt.Fprintf(&b, "The failover of `%s` (started %s) is complete: its volumes run in `%s`, and **nothing protects them**.\n\n", p.Name(), rv.FailoverStartedAt, s.Primary)
	fmt.Fprintf(&b, "Merging this pull request changes `%s` so that the plan protects them again, the other way round:\n\n", file)
	fmt.Fprintf(&b, "- `%s` is the primary: recurring backups of the activated volumes;\n", s.Primary)
	fmt.Fprintf(&b, "- `%s` is the secondary: new standby volumes, named apart from the old volumes there, which are stale and are labelled `drplan.io/stale=true` (kept; `spec.staleVolumes: Delete` deletes each once its replacement holds newer data);\n", s.Secondary)
	b.WriteString("- `failover: false`; setting it to `true` later is the failback, a planned switchover back with no data lost while both sites answer.\n\n")
	b.WriteString("| volume (source) | new standby volume |\n|---|---|\n")
	for _, v := range s.Volumes {
		fmt.Fprintf(&b, "| `%s` | `%s` |\n", v.Name, v.StandbyName)
	}
	b.WriteString("\ndrplan's preview below says what merging does in each cluster.\n")
	return b.String()
}
