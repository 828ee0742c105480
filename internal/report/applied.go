package report

import (
	"strings"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/revision"
)

// AppliedInput is what the agent applied at a revision of the tracked branch.
type AppliedInput struct {
	// Revision is the applied commit.
	Revision string
	// Problems are the validation problems of the plans at Revision: those plans were not
	// applied.
	Problems []string
	// Report is the planner's report after the pass.
	Report planner.Report
	// Outcomes are the actions carried out, with their errors.
	Outcomes []Outcome
	// Failovers are the plans failing over since this revision, where they stand (see
	// Failovers).
	Failovers []planner.PlanReport
	// Drills are the plans drilling since this revision (see Drills).
	Drills []planner.PlanReport
}

// Applied renders what a revision applied.
func Applied(in AppliedInput) string {
	m := outcomesByPlan(in.Outcomes)
	failed := 0
	for _, o := range in.Outcomes {
		if o.Err != nil {
			failed++
		}
	}
	warnings := append(clusterWarnings(in.Report), rpoWarnings(in.Report)...)
	var b strings.Builder
	b.WriteString(meta(KindApplied, in.Revision) + "\n")
	icon, verdict := "✅", "applied "+code(revision.Short(in.Revision))
	switch {
	case failed > 0:
		icon, verdict = "❌", verdict+" with "+plural(failed, "error", "errors")
	case len(in.Problems) > 0:
		icon, verdict = "❌", verdict+"; "+plural(len(in.Problems), "problem", "problems")+" left plans out"
	case len(warnings) > 0:
		icon = "⚠️"
	}
	parts := []string{icon + " **drplan: " + verdict + "**", changesLine(m, " made")}
	if len(in.Failovers) > 0 {
		parts = append(parts, "failover: "+failoverStates(failovers(in.Failovers)))
	}
	if len(warnings) > 0 {
		parts = append(parts, "⚠️ "+plural(len(warnings), "warning", "warnings"))
	}
	b.WriteString(strings.Join(parts, " · ") + "\n\n")
	ctx := "Merged into the tracked branch and applied by the agent"
	if !in.Report.Now.IsZero() {
		ctx += " at " + when(in.Report.Now)
	}
	b.WriteString(ctx + ".\n\n")
	if len(warnings) > 0 {
		var items []string
		for _, w := range warnings {
			items = append(items, "⚠️ "+w)
		}
		b.WriteString("**Warnings**\n\n" + list(items) + "\n")
	}
	if len(in.Problems) > 0 {
		b.WriteString("**Problems** — these plans were not applied:\n\n" + problemList(in.Problems) + "\n")
	}
	for _, f := range failovers(in.Failovers) {
		b.WriteString(progressSection(f) + "\n")
	}
	for _, p := range in.Drills {
		b.WriteString(drillSection(p) + "\n")
	}
	if len(in.Report.Plans) > 0 || len(m) > 0 {
		b.WriteString(planTable(in.Report, m, nil) + "\n")
		b.WriteString(planDetails(in.Report, m))
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// failoverStates renders "`payments` running, `billing` complete".
func failoverStates(fs []failover) string {
	var out []string
	for _, f := range fs {
		out = append(out, code(f.Name)+" "+string(f.Phase))
	}
	return strings.Join(out, ", ")
}
