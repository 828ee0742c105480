package report

import (
	"strings"

	"github.com/drplan/drplan/internal/planner"
)

// PreviewInput is what an open pull request would do once merged.
type PreviewInput struct {
	// Revision is the pull request's head commit.
	Revision string
	// Problems are the validation problems of the plans at Revision, each
	// FILE:LINE:COL: FIELD: MESSAGE.
	Problems []string
	// Report is the planner's report for the plans at Revision against the live clusters.
	Report planner.Report
	// Actions are what the agent would do once the pull request is merged.
	Actions []planner.Action
	// Failovers are the plans the pull request turns failover on for: what would happen now.
	Failovers []Failover
}

// Valid reports whether the plans at the revision have no validation problems, and says so
// in one line for the drplan/validate commit status.
func (in PreviewInput) Valid() (bool, string) {
	if n := len(in.Problems); n > 0 {
		first := in.Problems[0]
		if m := problemRE.FindStringSubmatch(first); m != nil {
			first = m[1] + ":" + m[2] + ": " + m[4] + ": " + m[5]
		}
		return false, plural(n, "problem", "problems") + ": " + flat(first)
	}
	m := byPlan(in.Actions)
	s := "valid: " + plural(len(in.Report.Plans), "plan", "plans") + ", " + strings.ReplaceAll(changesLine(m, ""), "`", "")
	if len(in.Failovers) > 0 {
		s += ", failover on merge"
	}
	return true, s
}

// warnings lists what a reviewer must know, most urgent first.
func (in PreviewInput) warnings() []string {
	var out []string
	for _, f := range in.Failovers {
		out = append(out, failoverWarnings(in.Report, f)...)
	}
	out = append(out, clusterWarnings(in.Report)...)
	return append(out, rpoWarnings(in.Report)...)
}

// Preview renders a pull request's preview comment content.
func Preview(in PreviewInput) string {
	m := byPlan(in.Actions)
	warnings := in.warnings()
	var b strings.Builder
	b.WriteString(meta(KindPreview, in.Revision) + "\n")

	icon, verdict := "✅", "valid"
	switch {
	case len(in.Problems) > 0:
		icon, verdict = "❌", plural(len(in.Problems), "problem", "problems")+" to fix"
	case len(in.Failovers) > 0:
		icon, verdict = "🚨", "merging fails over "+failoverNames(in.Failovers)
	case len(warnings) > 0:
		icon = "⚠️"
	}
	parts := []string{icon + " **drplan preview: " + verdict + "**"}
	if len(in.Failovers) == 1 && len(in.Problems) == 0 {
		parts = append(parts, "data-loss window now "+strings.ReplaceAll(lossText(in.Failovers[0]), "**", ""))
	}
	parts = append(parts, changesLine(m, ""))
	if len(warnings) > 0 {
		parts = append(parts, "⚠️ "+plural(len(warnings), "warning", "warnings"))
	}
	parts = append(parts, code(shortRev(in.Revision)))
	b.WriteString(strings.Join(parts, " · ") + "\n\n")

	ctx := "Head " + code(shortRev(in.Revision)) + " compared with the live clusters"
	if !in.Report.Now.IsZero() {
		ctx += " at " + when(in.Report.Now)
	}
	b.WriteString(ctx + ". Nothing is changed before the merge.\n\n")

	if len(warnings) > 0 {
		var items []string
		for _, w := range warnings {
			items = append(items, "⚠️ "+w)
		}
		b.WriteString("**Warnings**\n\n" + list(items) + "\n")
	}
	if len(in.Problems) > 0 {
		b.WriteString("**Problems** — a plan with problems is not applied; fix them before merging:\n\n" + problemList(in.Problems) + "\n")
	}
	flips := map[string]bool{}
	for _, f := range in.Failovers {
		flips[f.Plan] = true
		b.WriteString(previewSection(f) + "\n")
	}
	if len(in.Report.Plans) > 0 || len(m) > 0 {
		b.WriteString(planTable(in.Report, m, flips) + "\n")
		b.WriteString(planDetails(in.Report, m))
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func failoverNames(fs []Failover) string {
	if len(fs) == 1 {
		return code(fs[0].Plan)
	}
	return plural(len(fs), "plan", "plans")
}
