package report

import (
	"strings"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/revision"
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
	// Actions are what the agent would do once the pull request is merged. The plans whose
	// failover the decision would start (phase pending) are shown as what would happen now.
	Actions []planner.Action
}

// Valid reports whether the plans at the revision have no validation problems, and says so
// in one line for the drplan/validate commit status: the problems that fit in StatusLimit
// characters, then how many more there are.
func (in PreviewInput) Valid() (bool, string) {
	if len(in.Problems) > 0 {
		return false, problemsStatus(in.Problems, StatusLimit)
	}
	for _, f := range onMerge(in.Report) {
		if f.Phase == planner.FailoverBlocked {
			return false, "merging cannot fail over " + f.Name + ": " + strings.TrimPrefix(f.FailoverReport.Waiting, "the failover cannot start: ")
		}
	}
	m := byPlan(in.Actions)
	s := "valid: " + plural(len(in.Report.Plans), "plan", "plans") + ", " + strings.ReplaceAll(changesLine(m, ""), "`", "")
	if len(onMerge(in.Report)) > 0 {
		s += ", failover on merge"
	}
	return true, s
}

// warnings lists what a reviewer must know, most urgent first.
func (in PreviewInput) warnings() []string {
	var out []string
	for _, f := range onMerge(in.Report) {
		out = append(out, failoverWarnings(in.Report, f)...)
	}
	out = append(out, clusterWarnings(in.Report)...)
	return append(out, rpoWarnings(in.Report)...)
}

// Preview renders a pull request's preview comment content.
func Preview(in PreviewInput) string {
	m := byPlan(in.Actions)
	fos := onMerge(in.Report)
	warnings := in.warnings()
	var b strings.Builder
	b.WriteString(meta(KindPreview, in.Revision) + "\n")

	icon, verdict := "✅", "valid"
	switch {
	case len(in.Problems) > 0:
		icon, verdict = "❌", plural(len(in.Problems), "problem", "problems")+" to fix"
	case blocked(fos) != nil:
		icon, verdict = "⛔", "merging cannot fail over "+code(blocked(fos).Name)
	case len(fos) > 0:
		icon, verdict = "🚨", "merging fails over "+failoverNames(fos)
	case len(warnings) > 0:
		icon = "⚠️"
	}
	parts := []string{icon + " **drplan preview: " + verdict + "**"}
	if len(fos) == 1 && len(in.Problems) == 0 {
		parts = append(parts, "data-loss window now "+strings.ReplaceAll(lossText(fos[0]), "**", ""))
	}
	parts = append(parts, changesLine(m, ""))
	if len(warnings) > 0 {
		parts = append(parts, "⚠️ "+plural(len(warnings), "warning", "warnings"))
	}
	parts = append(parts, code(revision.Short(in.Revision)))
	b.WriteString(strings.Join(parts, " · ") + "\n\n")

	ctx := "Head " + code(revision.Short(in.Revision)) + " compared with the live clusters"
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
	for _, f := range fos {
		flips[f.Name] = true
		b.WriteString(previewSection(f) + "\n")
	}
	for _, f := range underWay(in.Report) {
		b.WriteString(progressSection(f) + "\n")
	}
	for _, p := range in.Report.Plans {
		if p.Drill != nil && p.Drill.Phase != planner.DrillTornDown {
			b.WriteString(drillSection(p) + "\n")
		}
	}
	if len(in.Report.Plans) > 0 || len(m) > 0 {
		b.WriteString(planTable(in.Report, m, flips) + "\n")
		b.WriteString(planDetails(in.Report, m))
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// blocked returns the first failover that cannot start, or nil.
func blocked(fs []failover) *failover {
	for i := range fs {
		if fs[i].Phase == planner.FailoverBlocked {
			return &fs[i]
		}
	}
	return nil
}

func failoverNames(fs []failover) string {
	if len(fs) == 1 {
		return code(fs[0].Name)
	}
	return plural(len(fs), "plan", "plans")
}
