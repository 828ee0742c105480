package report

import (
	"strconv"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/revision"
)

// ProgressInput is a failover under way or done, for the comment of the pull request (or
// commit) that turned it on.
type ProgressInput struct {
	// Revision is the commit that turned failover on.
	Revision string
	// Now is when the progress was read.
	Now time.Time
	// Failovers are the plans failing over (see Failovers).
	Failovers []planner.PlanReport
	// Drills are the plans drilling (see Drills).
	Drills []planner.PlanReport
}

// Progress renders a failover's live progress and, once complete, its timeline with the RTO
// and the data-loss window as realised.
func Progress(in ProgressInput) string {
	var b strings.Builder
	b.WriteString(meta(KindProgress, in.Revision) + "\n")
	ctx := "Failover turned on by " + code(revision.Short(in.Revision))
	if len(in.Failovers) == 0 {
		b.WriteString(drillSummary(in.Drills) + "\n\n")
		ctx = "Drill asked for by " + code(revision.Short(in.Revision))
	} else {
		b.WriteString(progressSummary(in) + "\n\n")
	}
	if !in.Now.IsZero() {
		ctx += " · as of " + when(in.Now)
	}
	b.WriteString(ctx + ".\n\n")
	for _, f := range failovers(in.Failovers) {
		b.WriteString(progressSection(f) + "\n")
	}
	for _, p := range in.Drills {
		b.WriteString(drillSection(p) + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// progressSummary is the summary line: one failover in words, several counted by phase.
func progressSummary(in ProgressInput) string {
	fs := failovers(in.Failovers)
	if len(fs) != 1 {
		n := map[planner.FailoverPhase]int{}
		worst := planner.FailoverComplete
		for _, f := range fs {
			n[f.Phase]++
			if rank(f.Phase) > rank(worst) {
				worst = f.Phase
			}
		}
		var parts []string
		for _, p := range []planner.FailoverPhase{planner.FailoverUnauthorized, planner.FailoverBlocked, planner.FailoverStalled, planner.FailoverRunning, planner.FailoverPending,
			planner.FailoverComplete, planner.FailoverReverted, planner.FailoverActivatedOutside} {
			if n[p] > 0 {
				parts = append(parts, plural(n[p], string(p), string(p)))
			}
		}
		return phaseIcon(worst) + " **drplan: failover of " + plural(len(fs), "plan", "plans") + "** · " + strings.Join(parts, ", ")
	}
	f := fs[0]
	head := phaseIcon(f.Phase) + " **drplan: failover of " + code(f.Name) + " " + string(f.Phase) + "**"
	var parts []string
	switch f.Phase {
	case planner.FailoverComplete:
		parts = append(parts, "RTO "+human(f.FinishedAt.Sub(f.StartedAt)))
		if loss, known := f.dataLoss(); known {
			parts = append(parts, "data-loss window "+human(loss))
		}
	case planner.FailoverBlocked, planner.FailoverUnauthorized:
		parts = append(parts, text(f.FailoverReport.Waiting))
	case planner.FailoverReverted:
		parts = append(parts, "failover set back to false in Git; activation is one-way, nothing is undone")
	default:
		if s, wave := f.current(); s != nil {
			at := text(stepLabel(s.Name))
			if s.Wave != "" {
				at = "wave " + strconv.Itoa(wave) + "/" + strconv.Itoa(f.waves()) + " " + code(s.Wave)
			}
			parts = append(parts, at)
			if s.State == planner.StepStalled && s.Waiting != "" {
				parts = append(parts, text(s.Waiting))
			}
		}
		if !f.StartedAt.IsZero() && !in.Now.IsZero() {
			parts = append(parts, human(in.Now.Sub(f.StartedAt))+" so far")
		}
	}
	if len(parts) == 0 {
		return head
	}
	return head + " · " + strings.Join(parts, " · ")
}

func rank(p planner.FailoverPhase) int {
	return map[planner.FailoverPhase]int{planner.FailoverComplete: 0, planner.FailoverReverted: 1, planner.FailoverActivatedOutside: 1,
		planner.FailoverPending: 2, planner.FailoverRunning: 3, planner.FailoverStalled: 4, planner.FailoverBlocked: 4, planner.FailoverUnauthorized: 4}[p]
}
