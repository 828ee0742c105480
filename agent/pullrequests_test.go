package agent

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/report"
	"github.com/drplan/drplan/plans"
)

func TestProgressFailovers(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	running := planner.PlanReport{Name: "shop", Primary: "east", Secondary: "west", RPO: metav1.Duration{Duration: 30 * time.Minute},
		FailoverStatus: &planner.FailoverReport{Phase: planner.FailoverRunning, Planned: true, Revision: "abc", StartedAt: t0,
			Steps: []planner.FailoverStepReport{
				{Name: planner.StepCatchUp, State: planner.StepDone, StartedAt: t0, FinishedAt: t0.Add(time.Second)},
				{Name: planner.WaveStep("databases"), State: planner.StepRunning, Volumes: []string{"pg"},
					Gates: []planner.GateReport{{Kind: "StatefulSet", Namespace: "shop", Name: "pg", Message: "1/2 ready"}}},
			},
			Volumes:  []planner.FailoverVolumeReport{{Name: "pg", DataLoss: metav1.Duration{Duration: 12 * time.Second}, DataLossKnown: true}},
			Timeline: []planner.TimelineEntry{{At: t0, Event: "failover started"}}}}
	cases := []struct {
		name  string
		plans []planner.PlanReport
		rev   string
		want  []string // plans in the output
	}{
		{"a failover started by this revision", []planner.PlanReport{running}, "abc", []string{"shop"}},
		{"a failover started by another revision", []planner.PlanReport{running}, "def", nil},
		{"no failover", []planner.PlanReport{{Name: "orders"}}, "abc", nil},
		{"reverted", []planner.PlanReport{{Name: "x", FailoverStatus: &planner.FailoverReport{Phase: planner.FailoverReverted}}}, "abc", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := progressFailovers(planner.Report{Plans: tc.plans}, tc.rev)
			var names []string
			for _, f := range got {
				names = append(names, f.Plan)
			}
			g.Expect(names).To(Equal(tc.want))
		})
	}

	g := NewWithT(t)
	f := progressFailovers(planner.Report{Plans: []planner.PlanReport{running}}, "abc")[0]
	g.Expect(f.Phase).To(Equal(report.Phase("running")))
	g.Expect(f.RPO).To(Equal(30 * time.Minute))
	g.Expect(f.Steps).To(HaveLen(2))
	g.Expect(f.Steps[0].Wave).To(BeEmpty())
	g.Expect(f.Steps[1].Wave).To(Equal("databases"))
	g.Expect(f.Steps[1].Volumes).To(Equal([]report.Volume{{Name: "pg", Lag: 12 * time.Second, LagKnown: true}}))
	g.Expect(f.Steps[1].Gates[0].Message).To(Equal("1/2 ready"))
	g.Expect(f.Timeline).To(HaveLen(1))
}

func TestPreviewFailovers(t *testing.T) {
	g := NewWithT(t)
	p := &plans.Plan{DRPlan: plans.DRPlan{Metadata: plans.Metadata{Name: "shop"}, Spec: plans.Spec{
		Primary: "east", Secondary: "west", RPO: plans.Duration{Duration: time.Hour}, Failover: true,
		Volumes: []plans.Volume{{Name: "pg", StandbyName: "pg", Wave: "db"}, {Name: "web", StandbyName: "web", Wave: "apps"}},
		Waves: []plans.Wave{
			{Name: "db", Gates: []plans.Gate{{Kind: "StatefulSet", Namespace: "shop", Name: "pg", Timeout: plans.Duration{Duration: time.Minute}}},
				Scale: []plans.Scale{{Kind: "StatefulSet", Namespace: "shop", Name: "pg", Replicas: 2}}},
			{Name: "apps"},
		}}}}
	set := &plans.Set{Plans: []*plans.Plan{p}}
	now := Status{Plans: []planner.PlanReport{{Name: "shop", Volumes: []planner.VolumeReport{
		{Name: "pg", State: planner.StandbyCaughtUp, Lag: metav1.Duration{Duration: 40 * time.Second}, LagKnown: true},
	}}}}
	got := previewFailovers(set, now, planner.Report{})
	g.Expect(got).To(HaveLen(1))
	f := got[0]
	g.Expect(f.Phase).To(BeEmpty(), "a preview has no phase")
	g.Expect(f.Steps).To(HaveLen(2))
	g.Expect(f.Steps[0].Volumes).To(Equal([]report.Volume{{Name: "pg", State: "caught-up", Lag: 40 * time.Second, LagKnown: true}}))
	g.Expect(f.Steps[0].Scale).To(Equal([]string{"StatefulSet shop/pg to 2"}))
	g.Expect(f.Steps[1].Volumes[0].LagKnown).To(BeFalse(), "a volume the status does not know yet")

	// A plan already failing over in the tracked branch is not previewed again.
	now.Plans[0].Failover = true
	g.Expect(previewFailovers(set, now, planner.Report{})).To(BeEmpty())
}

func TestIncomplete(t *testing.T) {
	g := NewWithT(t)
	withProblem := &plans.Plan{Problems: []plans.Problem{{File: "a.yaml", Line: 3}}}
	set := &plans.Set{Plans: []*plans.Plan{withProblem}}
	g.Expect(incomplete(set, withProblem.Problems)).To(BeFalse(), "every problem belongs to a plan")
	g.Expect(incomplete(set, append(withProblem.Problems, plans.Problem{File: "b.yaml", Line: 1}))).To(BeTrue(), "b.yaml does not parse")
}
