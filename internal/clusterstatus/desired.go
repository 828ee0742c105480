package clusterstatus

import (
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/planstatus"
)

// Reasons of the conditions drplan sets.
const (
	ReasonProtected     = "Protected"
	ReasonProtecting    = "Protecting"
	ReasonRPOBreach     = "RPOBreach"
	ReasonInvalid       = "InvalidPlan"
	ReasonRefused       = "Refused"
	ReasonSuspended     = "Suspended"
	ReasonProblems      = "Problems"
	ReasonFailingOver   = "FailingOver"
	ReasonFailedOver    = "FailedOver"
	ReasonFailoverStuck = "FailoverStuck"
	ReasonUnauthorized  = "FailoverUnauthorized"
	ReasonReverted      = "FailoverReverted"
	ReasonOutside       = "ActivatedOutside"
)

// Desired is the status object the report of one plan asks for in a cluster, in namespace
// with labels, given have, the object the cluster holds (nil: none). changed is false when
// have says all of it already: nothing to write.
func Desired(r planner.PlanReport, revision, namespace string, labels map[string]string, have *planstatus.DRPlanStatus) (want *planstatus.DRPlanStatus, changed bool) {
	if have != nil {
		want = have.DeepCopy()
	} else {
		want = &planstatus.DRPlanStatus{}
		want.Name, want.Namespace = r.Name, namespace
	}
	want.APIVersion, want.Kind = planstatus.GroupVersion.String(), "DRPlanStatus"
	if want.Labels == nil {
		want.Labels = map[string]string{}
	}
	for k, v := range labels {
		want.Labels[k] = v
	}
	want.Spec = planstatus.DRPlanStatusSpec{Plan: r.Name, Primary: r.Primary, Secondary: r.Secondary, File: r.File}
	if r.RPO.Duration > 0 {
		want.Spec.RPO = r.RPO.Duration.String()
	}
	st := &want.Status
	st.Revision = revision
	st.Problems = r.Problems
	st.Volumes, st.Protected, st.OldestRestoredAt = volumes(r)
	st.Failover = failover(r.FailoverStatus)
	st.Lifecycle = string(r.Lifecycle)
	st.Drill = drill(r.Drill)
	setConditions(want, r)
	if have == nil {
		return want, true
	}
	return want, !equality.Semantic.DeepEqual(have.Labels, want.Labels) ||
		!equality.Semantic.DeepEqual(have.Spec, want.Spec) || !equality.Semantic.DeepEqual(have.Status, want.Status)
}

func volumes(r planner.PlanReport) (n, protected int, oldest *metav1.Time) {
	for _, v := range r.Volumes {
		n++
		if isProtected(v) {
			protected++
		}
		if v.LagKnown && !v.RestoredAt.IsZero() && (oldest == nil || v.RestoredAt.Before(oldest.Time)) {
			t := metav1.NewTime(v.RestoredAt.UTC().Truncate(time.Second))
			oldest = &t
		}
	}
	return n, protected, oldest
}

// isProtected is whether a volume's standby holds a restored backup within the RPO: caught up,
// or restoring a newer backup than the one it holds (every backup cycle goes through that, and
// the volume stays protected meanwhile).
func isProtected(v planner.VolumeReport) bool {
	switch v.State {
	case planner.StandbyCaughtUp, planner.StandbyRestoring:
		return v.LagKnown && !v.RPOBreach
	}
	return false
}

// drill is a drill's few fields; none moves with the clock.
func drill(d *planner.DrillReport) *planstatus.DrillStatus {
	if d == nil {
		return nil
	}
	stamp := func(t time.Time) *metav1.Time {
		if t.IsZero() {
			return nil
		}
		m := metav1.NewTime(t.UTC().Truncate(time.Second))
		return &m
	}
	out := &planstatus.DrillStatus{ID: d.ID, Namespace: d.Namespace, Phase: string(d.Phase),
		StartedAt: stamp(d.StartedAt), FinishedAt: stamp(d.FinishedAt), KeepUntil: stamp(d.KeepUntil)}
	if d.RTO.Duration > 0 {
		out.RTO = d.RTO.Duration.Round(time.Second).String()
	}
	if d.DataLossKnown {
		out.DataLoss = d.DataLoss.Duration.Round(time.Second).String()
	}
	return out
}

func failover(f *planner.FailoverReport) *planstatus.FailoverStatus {
	if f == nil {
		return nil
	}
	out := &planstatus.FailoverStatus{Phase: string(f.Phase), Step: f.Step}
	if !f.StartedAt.IsZero() {
		t := metav1.NewTime(f.StartedAt.UTC().Truncate(time.Second))
		out.StartedAt = &t
	}
	if !f.FinishedAt.IsZero() {
		t := metav1.NewTime(f.FinishedAt.UTC().Truncate(time.Second))
		out.FinishedAt = &t
	}
	if f.RTO.Duration > 0 {
		out.RTO = f.RTO.Duration.Round(time.Second).String()
	}
	return out
}

// setConditions sets the phase and kstatus' conditions from the report: Ready when the plan is
// protected (or failed over), Reconciling while it gets there by itself, Stalled when a person
// must act.
func setConditions(s *planstatus.DRPlanStatus, r planner.PlanReport) {
	phase, ready, reason, msg, progressing := judge(r)
	s.Status.Phase = phase
	if ready {
		conditions.MarkTrue(s, meta.ReadyCondition, reason, "%s", msg)
	} else {
		conditions.MarkFalse(s, meta.ReadyCondition, reason, "%s", msg)
	}
	switch {
	case ready:
		conditions.Delete(s, meta.ReconcilingCondition)
		conditions.Delete(s, meta.StalledCondition)
	case progressing:
		conditions.MarkReconciling(s, reason, "%s", msg)
	default:
		conditions.MarkStalled(s, reason, "%s", msg)
	}
}

// judge reads the report: the phase, whether the plan is ready, the reason and message, and
// whether it progresses by itself (else a person must act).
func judge(r planner.PlanReport) (phase string, ready bool, reason, msg string, progressing bool) {
	first := func(ss []string, fallback string) string {
		if len(ss) == 0 {
			return fallback
		}
		if len(ss) == 1 {
			return ss[0]
		}
		return fmt.Sprintf("%s (and %d more)", ss[0], len(ss)-1)
	}
	switch {
	case r.Suspended:
		return planstatus.PhaseSuspended, false, ReasonSuspended, "spec.suspend is true: drplan changes nothing for this plan", false
	case r.Invalid:
		return planstatus.PhaseInvalid, false, ReasonInvalid, first(r.Problems, "the plan has problems"), false
	case r.Refused:
		return planstatus.PhaseRefused, false, ReasonRefused, first(r.Problems, "another shard drives the plan"), false
	}
	if f := r.FailoverStatus; f != nil {
		why := f.Waiting
		if why == "" {
			why = "step " + f.Step
		}
		switch f.Phase {
		case planner.FailoverComplete:
			return planstatus.PhaseFailedOver, true, ReasonFailedOver, fmt.Sprintf("failed over to %s in %s", r.Secondary, f.RTO.Duration.Round(time.Second)), false
		case planner.FailoverPending, planner.FailoverRunning:
			return planstatus.PhaseFailover, false, ReasonFailingOver, why, true
		case planner.FailoverStalled:
			return planstatus.PhaseStalled, false, ReasonFailoverStuck, why, false
		case planner.FailoverBlocked:
			return planstatus.PhaseBlocked, false, ReasonFailoverStuck, why, false
		case planner.FailoverUnauthorized:
			return planstatus.PhaseUnauthorized, false, ReasonUnauthorized, why, false
		case planner.FailoverReverted:
			return planstatus.PhaseReverted, false, ReasonReverted, "failover was set back to false after it began; nothing was undone", false
		case planner.FailoverActivatedOutside:
			return planstatus.PhaseOutside, false, ReasonOutside, "standby volumes were activated outside drplan; set failover: true to adopt them", false
		}
	}
	if len(r.Problems) > 0 {
		return phaseOf(r), false, ReasonProblems, first(r.Problems, ""), false
	}
	if r.RPOBreach {
		return planstatus.PhaseBreached, false, ReasonRPOBreach, breachMessage(r), true
	}
	protected := 0
	for _, v := range r.Volumes {
		if isProtected(v) {
			protected++
		}
	}
	if protected < len(r.Volumes) {
		return planstatus.PhaseProtecting, false, ReasonProtecting,
			fmt.Sprintf("%d of %d standby volumes hold a restored backup%s", protected, len(r.Volumes), waitingSuffix(r.Waiting)), true
	}
	return planstatus.PhaseProtected, true, ReasonProtected, fmt.Sprintf("%d standby volumes hold a restored backup within the RPO", len(r.Volumes)), false
}

func phaseOf(r planner.PlanReport) string {
	if r.RPOBreach {
		return planstatus.PhaseBreached
	}
	return planstatus.PhaseProtecting
}

func breachMessage(r planner.PlanReport) string {
	var names []string
	for _, v := range r.Volumes {
		if v.RPOBreach {
			names = append(names, v.Name)
		}
	}
	return fmt.Sprintf("standby volumes lag more than the RPO (%s): %s", r.RPO.Duration, strings.Join(names, ", "))
}

func waitingSuffix(w []string) string {
	if len(w) == 0 {
		return ""
	}
	return ": " + w[0]
}
