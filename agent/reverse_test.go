package agent

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"
	"time"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/forge"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/source"
	"github.com/drplan/drplan/plans"
)

// proposeForge records the proposals it is asked for and fails while err is set; every other
// method of forge.Forge is left out (a call would panic: the reverser makes none).
type proposeForge struct {
	forge.Forge
	err       error
	proposals []forge.Proposal
}

func (f *proposeForge) ProposeChange(_ context.Context, p forge.Proposal) (*forge.PullRequest, error) {
	f.proposals = append(f.proposals, p)
	if f.err != nil {
		return nil, f.err
	}
	return &forge.PullRequest{Number: len(f.proposals), URL: "https://forge.example/pr/" + p.Branch}, nil
}

const reverseTestPlan = `# the team's comment stays
apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: shop
spec:
  primary: east
  secondary: west
  schedule: {cron: "@every 1h", retain: 5}
  rpo: 2h
  failover: true
  volumes:
    - {name: shop-db, standbyName: shop-db, replicas: 2, wave: db}
  waves:
    - name: db
`

// reversalFor is the reversal of shop's failover started at startedAt, as a pass gives it.
func reversalFor(t *testing.T, startedAt time.Time) (source.Snapshot, planner.Reversal) {
	t.Helper()
	fsys := fstest.MapFS{"shop.yaml": {Data: []byte(reverseTestPlan)}} // the snapshot's FS holds the files under its Path
	set, problems := plans.LoadFS(fsys, ".")
	if len(problems) > 0 {
		t.Fatalf("plan: %v", problems)
	}
	p := set.Plans[0]
	reversed, err := planner.ReversedPlan(p, &observed.State{Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	snap := source.Snapshot{Revision: "abc", Path: "plans", FS: fsys}
	return snap, planner.Reversal{Plan: p, FailoverStartedAt: planner.ReversalStartedAt(startedAt), Reversed: reversed}
}

// failedOver is shop's report once its failover started at startedAt is complete.
func failedOver(startedAt time.Time) []planner.PlanReport {
	return []planner.PlanReport{{Name: "shop", Lifecycle: planner.LifecycleFailedOver,
		FailoverStatus: &planner.FailoverReport{Phase: planner.FailoverComplete, StartedAt: startedAt}}}
}

// One pull request per failover: proposed once however many passes bring it; a failure is
// reported in the plan's status and tried again after a wait that grows; a new failover is
// proposed again; only the current failover's pull request is shown.
func TestReverser(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	f := &proposeForge{err: errors.New("forge: 502 bad gateway")}
	r := newReverser(f, "main")
	r.now = func() time.Time { return clock }
	first := clock.Add(-time.Hour)
	snap, rv := reversalFor(t, first)

	t.Log("the forge fails: the status says why, and the next passes wait before trying again")
	r.proposeOnce(ctx, snap, rv)
	g.Expect(f.proposals).To(HaveLen(1))
	ps := failedOver(first)
	r.annotate(ps)
	g.Expect(ps[0].ReversePullRequest).To(BeEmpty())
	g.Expect(ps[0].ReverseProblem).To(And(ContainSubstring("could not be opened (1 attempts; next after 2026-12-02T10:01:00Z)"),
		ContainSubstring("502 bad gateway")))
	r.proposeOnce(ctx, snap, rv)
	g.Expect(f.proposals).To(HaveLen(1), "not tried again before the wait is over")
	clock = clock.Add(time.Minute)
	r.proposeOnce(ctx, snap, rv)
	g.Expect(f.proposals).To(HaveLen(2))
	ps = failedOver(first)
	r.annotate(ps)
	g.Expect(ps[0].ReverseProblem).To(ContainSubstring("(2 attempts; next after 2026-12-02T10:03:00Z)"), "the wait doubles")

	t.Log("the forge answers: proposed once, and never again for this failover")
	f.err = nil
	clock = clock.Add(2 * time.Minute)
	r.proposeOnce(ctx, snap, rv)
	g.Expect(f.proposals).To(HaveLen(3))
	p := f.proposals[2]
	t.Logf("proposed:\n%s", p.Files["plans/shop.yaml"])
	g.Expect(p.Base).To(Equal("main"))
	g.Expect(p.Branch).To(Equal("drplan/reverse-shop"))
	g.Expect(p.Files).To(HaveKey("plans/shop.yaml"))
	g.Expect(p.Files["plans/shop.yaml"]).To(And(ContainSubstring("# the team's comment stays"), ContainSubstring("primary: west"),
		ContainSubstring("failover: false"), ContainSubstring("{name: shop-db, standbyName: shop-db-b, replicas: 2, wave: db}")))
	for range 3 {
		clock = clock.Add(time.Hour)
		r.proposeOnce(ctx, snap, rv)
	}
	g.Expect(f.proposals).To(HaveLen(3), "one proposal per failover")
	ps = failedOver(first)
	r.annotate(ps)
	g.Expect(ps[0].ReversePullRequest).To(Equal("https://forge.example/pr/drplan/reverse-shop"))
	g.Expect(ps[0].ReverseProblem).To(BeEmpty())

	t.Log("another failover of the plan: proposed again; the old pull request is not shown for it")
	second := clock.Add(-time.Minute)
	ps = failedOver(second)
	r.annotate(ps)
	g.Expect(ps[0].ReversePullRequest).To(BeEmpty(), "the pull request of the previous failover is not this one's")
	snap, rv = reversalFor(t, second)
	r.proposeOnce(ctx, snap, rv)
	g.Expect(f.proposals).To(HaveLen(4))
	r.annotate(ps)
	g.Expect(ps[0].ReversePullRequest).To(Equal("https://forge.example/pr/drplan/reverse-shop"))

	t.Log("a plan that is not failed over gets nothing")
	protecting := []planner.PlanReport{{Name: "shop", Lifecycle: planner.LifecycleProtecting}}
	r.annotate(protecting)
	g.Expect(protecting[0].ReversePullRequest).To(BeEmpty())
}

// The wait between attempts doubles from reverseRetry and stops growing at reverseRetryMax.
func TestReverserRetryWait(t *testing.T) {
	g := NewWithT(t)
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	f := &proposeForge{err: errors.New("forge down")}
	r := newReverser(f, "main")
	r.now = func() time.Time { return clock }
	snap, rv := reversalFor(t, clock.Add(-time.Hour))
	var waits []time.Duration
	for range 8 {
		r.proposeOnce(t.Context(), snap, rv)
		wait := r.proposals["shop"].retryAt.Sub(clock)
		waits = append(waits, wait)
		clock = clock.Add(wait)
	}
	g.Expect(f.proposals).To(HaveLen(8))
	g.Expect(waits).To(Equal([]time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		30 * time.Minute, 30 * time.Minute, 30 * time.Minute}))
}
