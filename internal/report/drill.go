package report

import (
	"fmt"
	"strings"

	"github.com/drplan/drplan/internal/planner"
)

// Drills are the plans of a pass' report whose drill the comment of revision rev shows: the
// drills it started (or that wait to start) and have not been torn down.
func Drills(rep planner.Report, rev string) []planner.PlanReport {
	var out []planner.PlanReport
	for _, p := range rep.Plans {
		d := p.Drill
		if d == nil || d.Phase == planner.DrillTornDown || (d.Revision != "" && d.Revision != rev) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// drillHeadline is a drill's state in one line.
func drillHeadline(p planner.PlanReport) string {
	d := p.Drill
	icon := map[planner.DrillPhase]string{planner.DrillSucceeded: "✅", planner.DrillFailed: "❌", planner.DrillTearingDown: "🧹"}[d.Phase]
	if icon == "" {
		icon = "🧪"
	}
	head := fmt.Sprintf("%s **drill %s of %s: %s**", icon, code(d.ID), code(p.Name), d.Phase)
	var parts []string
	switch d.Phase {
	case planner.DrillSucceeded:
		parts = append(parts, "a failover would take "+human(d.RTO.Duration)+" after catch-up")
	case planner.DrillFailed, planner.DrillStarting, planner.DrillRunning, planner.DrillTearingDown:
		if d.Waiting != "" {
			parts = append(parts, text(d.Waiting))
		}
	}
	if d.DataLossKnown {
		parts = append(parts, "data-loss window "+human(d.DataLoss.Duration))
	}
	if !d.KeepUntil.IsZero() && (d.Phase == planner.DrillSucceeded || d.Phase == planner.DrillFailed) {
		parts = append(parts, "torn down at "+when(d.KeepUntil))
	}
	if len(parts) == 0 {
		return head
	}
	return head + " · " + strings.Join(parts, " · ")
}

// drillSection renders a drill: its headline, its steps with their times (the waves' are what
// a failover would take), and each drill copy with the backup it restored and the data-loss
// window a failover at the drill's start would have had.
func drillSection(p planner.PlanReport) string {
	d := p.Drill
	var b strings.Builder
	b.WriteString(drillHeadline(p) + "\n\n")
	fmt.Fprintf(&b, "Rehearsed in cluster %s, namespace %s, on drill copies of the standby volumes: the standby volumes, the primary and the plan's own namespaces are not touched.\n\n",
		code(p.Secondary), code(d.Namespace))
	if len(d.Steps) > 0 {
		b.WriteString(header("step", "state", "time", "detail"))
		for _, s := range d.Steps {
			took := "—"
			if s.Duration.Duration > 0 {
				took = human(s.Duration.Duration)
			}
			detail := s.Note
			if detail == "" {
				detail = s.Waiting
			}
			if s.Name == planner.StepPrepare {
				detail = strings.TrimPrefix(detail+"; not counted in the RTO (a standby volume is restored already)", "; ")
			}
			b.WriteString(row(code(stepLabel(s.Name)), string(s.State), took, dash(text(detail))))
		}
		b.WriteString("\n")
	}
	if len(d.Volumes) > 0 {
		b.WriteString(header("volume", "drill copy", "restored backup", "data-loss window"))
		for _, v := range d.Volumes {
			loss := "—"
			if v.DataLossKnown {
				loss = human(v.DataLoss.Duration)
			}
			b.WriteString(row(code(v.Name), code(v.Standby), dash(codeOrEmpty(v.Restored)), loss))
		}
		b.WriteString("\n")
	}
	for _, n := range d.Notes {
		b.WriteString("> " + text(n) + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func codeOrEmpty(s string) string {
	if s == "" {
		return ""
	}
	return code(s)
}

// drillSummary is the summary line of a comment that shows drills only.
func drillSummary(ps []planner.PlanReport) string {
	if len(ps) == 1 {
		return strings.Replace(drillHeadline(ps[0]), "**drill", "**drplan: drill", 1)
	}
	n := map[planner.DrillPhase]int{}
	for _, p := range ps {
		n[p.Drill.Phase]++
	}
	var parts []string
	for _, ph := range []planner.DrillPhase{planner.DrillFailed, planner.DrillRunning, planner.DrillStarting, planner.DrillSucceeded, planner.DrillTearingDown} {
		if n[ph] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[ph], ph))
		}
	}
	return "🧪 **drplan: " + plural(len(ps), "drill", "drills") + "** · " + strings.Join(parts, ", ")
}
