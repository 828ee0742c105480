package clusterstatus

import (
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/planstatus"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func report(mutate ...func(*planner.PlanReport)) planner.PlanReport {
	r := planner.PlanReport{Name: "shop", Primary: "east", Secondary: "west", File: "shop.yaml", RPO: metav1.Duration{Duration: time.Hour},
		Volumes: []planner.VolumeReport{
			{Name: "a", State: planner.StandbyCaughtUp, RestoredAt: t0.Add(-10 * time.Minute), LagKnown: true},
			{Name: "b", State: planner.StandbyCaughtUp, RestoredAt: t0.Add(-20 * time.Minute), LagKnown: true},
		}}
	for _, m := range mutate {
		m(&r)
	}
	return r
}

// Each report's phase and kstatus conditions: Ready when protected or failed over, Reconciling
// while it gets there by itself, Stalled when a person must act.
func TestDesiredConditions(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		report                      planner.PlanReport
		phase                       string
		ready, reconciling, stalled metav1.ConditionStatus
		reason                      string
	}{
		{"protected", report(), planstatus.PhaseProtected, "True", "", "", ReasonProtected},
		{"restoring a newer backup is still protected", report(func(r *planner.PlanReport) { r.Volumes[1].State = planner.StandbyRestoring }),
			planstatus.PhaseProtected, "True", "", "", ReasonProtected},
		{"first restore under way", report(func(r *planner.PlanReport) {
			r.Volumes[1].State, r.Volumes[1].LagKnown, r.Volumes[1].RestoredAt = planner.StandbyRestoring, false, time.Time{}
		}), planstatus.PhaseProtecting, "False", "True", "", ReasonProtecting},
		{"standby missing", report(func(r *planner.PlanReport) { r.Volumes[1].State, r.Volumes[1].LagKnown = planner.StandbyMissing, false }),
			planstatus.PhaseProtecting, "False", "True", "", ReasonProtecting},
		{"rpo breach", report(func(r *planner.PlanReport) { r.RPOBreach, r.Volumes[0].RPOBreach = true, true }),
			planstatus.PhaseBreached, "False", "True", "", ReasonRPOBreach},
		{"problems", report(func(r *planner.PlanReport) { r.Problems = []string{"standby volume a is faulted"} }),
			planstatus.PhaseProtecting, "False", "", "True", ReasonProblems},
		{"invalid", report(func(r *planner.PlanReport) {
			r.Invalid, r.Problems = true, []string{"shop.yaml:3:1: spec.rpo: required"}
		}),
			planstatus.PhaseInvalid, "False", "", "True", ReasonInvalid},
		{"suspended", report(func(r *planner.PlanReport) { r.Suspended = true }), planstatus.PhaseSuspended, "False", "", "True", ReasonSuspended},
		{"refused", report(func(r *planner.PlanReport) { r.Refused, r.Problems = true, []string{"plan shop is driven by shard eu"} }),
			planstatus.PhaseRefused, "False", "", "True", ReasonRefused},
		{"failing over", report(func(r *planner.PlanReport) {
			r.FailoverStatus = &planner.FailoverReport{Phase: planner.FailoverRunning, Step: "wave/db", Waiting: "wave db: activating a"}
		}), planstatus.PhaseFailover, "False", "True", "", ReasonFailingOver},
		{"failover stalled", report(func(r *planner.PlanReport) {
			r.FailoverStatus = &planner.FailoverReport{Phase: planner.FailoverStalled, Step: "wave/db", Waiting: "gate timed out"}
		}), planstatus.PhaseStalled, "False", "", "True", ReasonFailoverStuck},
		{"failover not authorized", report(func(r *planner.PlanReport) {
			r.FailoverStatus = &planner.FailoverReport{Phase: planner.FailoverUnauthorized, Waiting: "the failover is not authorized (commit abc is not signed)"}
		}), planstatus.PhaseUnauthorized, "False", "", "True", ReasonUnauthorized},
		{"failed over", report(func(r *planner.PlanReport) {
			r.FailoverStatus = &planner.FailoverReport{Phase: planner.FailoverComplete, StartedAt: t0, FinishedAt: t0.Add(90 * time.Second), RTO: metav1.Duration{Duration: 90 * time.Second}}
		}), planstatus.PhaseFailedOver, "True", "", "", ReasonFailedOver},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			want, changed := Desired(tc.report, "abc123", "longhorn-system", map[string]string{"x": "y"}, nil)
			g.Expect(changed).To(BeTrue())
			g.Expect(want.Status.Phase).To(Equal(tc.phase))
			status := func(typ string) metav1.ConditionStatus {
				if c := conditions.Get(want, typ); c != nil {
					return c.Status
				}
				return ""
			}
			g.Expect(status(meta.ReadyCondition)).To(Equal(tc.ready))
			g.Expect(status(meta.ReconcilingCondition)).To(Equal(tc.reconciling))
			g.Expect(status(meta.StalledCondition)).To(Equal(tc.stalled))
			g.Expect(conditions.GetReason(want, meta.ReadyCondition)).To(Equal(tc.reason))
			g.Expect(want.Spec).To(Equal(planstatus.DRPlanStatusSpec{Plan: "shop", Primary: "east", Secondary: "west", RPO: "1h0m0s", File: "shop.yaml"}))
		})
	}
}

// The object moves only when the report does: the same report against what it wrote is no
// change, whatever the clock says; lag is the oldest restored snapshot, not a duration.
func TestDesiredIdempotent(t *testing.T) {
	g := NewWithT(t)
	first, changed := Desired(report(), "abc123", "longhorn-system", nil, nil)
	g.Expect(changed).To(BeTrue())
	g.Expect(first.Status.OldestRestoredAt.Time).To(Equal(t0.Add(-20 * time.Minute)))
	g.Expect(first.Status.Volumes).To(Equal(2))
	g.Expect(first.Status.Protected).To(Equal(2))
	again, changed := Desired(report(), "abc123", "longhorn-system", nil, first)
	g.Expect(changed).To(BeFalse())
	g.Expect(again.Status.Conditions).To(Equal(first.Status.Conditions), "transition times kept")
	_, changed = Desired(report(), "def456", "longhorn-system", nil, first)
	g.Expect(changed).To(BeTrue(), "a new revision is written")
}

// A drill and the lifecycle are in the object for kubectl, in a few fields that do not move
// with the clock.
func TestDesiredDrill(t *testing.T) {
	g := NewWithT(t)
	r := report(func(r *planner.PlanReport) {
		r.Lifecycle = planner.LifecycleDrilling
		r.Drill = &planner.DrillReport{ID: "q4", Namespace: "drill", Phase: planner.DrillSucceeded, StartedAt: t0.Add(-5 * time.Minute),
			FinishedAt: t0.Add(-time.Minute), KeepUntil: t0.Add(59 * time.Minute), RTO: metav1.Duration{Duration: 2*time.Minute + 300*time.Millisecond},
			DataLoss: metav1.Duration{Duration: 7 * time.Minute}, DataLossKnown: true}
	})
	want, _ := Desired(r, "abc123", "longhorn-system", nil, nil)
	g.Expect(want.Status.Lifecycle).To(Equal("drilling"))
	d := want.Status.Drill
	g.Expect(d).NotTo(BeNil())
	g.Expect([]string{d.ID, d.Namespace, d.Phase, d.RTO, d.DataLoss}).To(Equal([]string{"q4", "drill", "succeeded", "2m0s", "7m0s"}))
	g.Expect(d.KeepUntil.Time).To(Equal(t0.Add(59 * time.Minute)))
	_, changed := Desired(r, "abc123", "longhorn-system", nil, want)
	g.Expect(changed).To(BeFalse())
}

func state(name string, objs ...planstatus.DRPlanStatus) *observed.State {
	return &observed.State{Name: name, Health: observed.Health{Synced: true, Reachable: true}, PlanStatuses: objs, PlanStatusesKnown: true}
}

func TestPlanWrites(t *testing.T) {
	g := NewWithT(t)
	const owner = "0123456789ab"
	written, _ := Desired(report(), "abc123", "longhorn-system", labels(owner, "shop"), nil)
	breach := report(func(r *planner.PlanReport) { r.RPOBreach, r.Volumes[0].RPOBreach = true, true })
	gone := *written.DeepCopy()
	gone.Name = "gone"
	theirs := *written.DeepCopy()
	theirs.Name, theirs.Labels = "other", labels("ffffffffffff", "other")
	unknown := &observed.State{Name: "north", Health: observed.Health{Synced: true, Reachable: true}}

	removed := planner.PlanReport{Name: "gone", Secondary: "west", Removed: true, Problems: []string{"plan gone is no longer in Git"}}
	writes := Plan(Input{Plans: []planner.PlanReport{breach, removed}, Revision: "abc123", Complete: true, Namespace: "longhorn-system", Owner: owner,
		Clusters: map[string]*observed.State{"east": state("east"), "west": state("west", *written, gone, theirs), "north": unknown}})
	var got []string
	for _, w := range writes {
		kind := "status"
		switch {
		case w.Delete:
			kind = "delete"
		case w.Create:
			kind = "create"
		case w.Spec:
			kind = "update"
		}
		got = append(got, w.Cluster+" "+kind+" "+w.Object.Name+" "+w.Warning)
	}
	g.Expect(got).To(ConsistOf(
		"east create shop RPOBreach", // the primary has none yet; the breach is news there too
		"west status shop RPOBreach", // Ready turns False: a Warning event
		"west delete gone ",          // its plan left Git (its standby volumes' orphan report writes nothing)
	), "another repository's object and a cluster without the CRD are left alone")

	// Nothing changed, nothing written; an incomplete tree deletes nothing.
	east, _ := Desired(report(), "abc123", "longhorn-system", labels(owner, "shop"), nil)
	writes = Plan(Input{Plans: []planner.PlanReport{report()}, Revision: "abc123", Complete: false, Namespace: "longhorn-system", Owner: owner,
		Clusters: map[string]*observed.State{"east": state("east", *east), "west": state("west", *written, gone)}})
	g.Expect(writes).To(BeEmpty())

	// A refused plan's object is the driving shard's; another shard's plans are known.
	writes = Plan(Input{Plans: []planner.PlanReport{report(func(r *planner.PlanReport) { r.Refused = true })}, Others: []string{"gone"},
		Complete: true, Namespace: "longhorn-system", Owner: owner, Clusters: map[string]*observed.State{"west": state("west", gone)}})
	g.Expect(writes).To(BeEmpty())
}

// Right after a write the cache still shows the old object: what was written stands in for it,
// so the next pass does not write (and conflict) again.
func TestPlanTrustsItsOwnWrites(t *testing.T) {
	g := NewWithT(t)
	const owner = "0123456789ab"
	old, _ := Desired(report(), "abc123", "longhorn-system", labels(owner, "shop"), nil)
	old.ResourceVersion = "1"
	newer, changed := Desired(report(), "def456", "longhorn-system", labels(owner, "shop"), old)
	g.Expect(changed).To(BeTrue())
	newer.ResourceVersion = "2"
	in := Input{Plans: []planner.PlanReport{report()}, Revision: "def456", Namespace: "longhorn-system", Owner: owner,
		Clusters: map[string]*observed.State{"west": state("west", *old)}}
	g.Expect(Plan(in)).To(HaveLen(1), "without the written object, the stale cache asks for a write")
	in.Written = map[Key]*planstatus.DRPlanStatus{{Cluster: "west", Name: "shop"}: newer}
	g.Expect(Plan(in)).To(BeEmpty())
}
