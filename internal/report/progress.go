package report

import (
	"strconv"
	"strings"
	"time"
)

// ProgressInput is a failover under way or done, for the comment of the pull request (or
// commit) that turned it on.
type ProgressInput struct {
	// Revision is the commit that turned failover on.
	Revision string
	// Now is when the progress was read.
	Now time.Time
	// Failovers are the plans failing over.
	Failovers []Failover
}

// Progress renders a failover's live progress and, once complete, its timeline with the RTO
// and the data-loss window as realised.
func Progress(in ProgressInput) string {
	var b strings.Builder
	b.WriteString(meta(KindProgress, in.Revision) + "\n")
	b.WriteString(progressSummary(in) + "\n\n")
	ctx := "Failover turned on by " + code(shortRev(in.Revision))
	if !in.Now.IsZero() {
		ctx += " · as of " + when(in.Now)
	}
	b.WriteString(ctx + ".\n\n")
	for _, f := range in.Failovers {
		b.WriteString(progressSection(f) + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// progressSummary is the summary line: one failover in words, several counted by phase.
func progressSummary(in ProgressInput) string {
	if len(in.Failovers) != 1 {
		n := map[Phase]int{}
		worst := PhaseComplete
		for _, f := range in.Failovers {
			n[f.Phase]++
			if rank(f.Phase) > rank(worst) {
				worst = f.Phase
			}
		}
		var parts []string
		for _, p := range []Phase{PhaseStalled, PhaseRunning, PhasePending, PhaseComplete, PhaseReverted} {
			if n[p] > 0 {
				parts = append(parts, plural(n[p], string(p), string(p)))
			}
		}
		return phaseIcon(worst) + " **drplan: failover of " + plural(len(in.Failovers), "plan", "plans") + "** · " + strings.Join(parts, ", ")
	}
	f := in.Failovers[0]
	head := phaseIcon(f.Phase) + " **drplan: failover of " + code(f.Plan) + " " + string(f.Phase) + "**"
	var parts []string
	switch f.Phase {
	case PhaseComplete:
		parts = append(parts, "RTO "+human(f.FinishedAt.Sub(f.StartedAt)))
		if loss, known := f.DataLoss(); known {
			parts = append(parts, "data-loss window "+human(loss))
		}
	case PhaseReverted:
		parts = append(parts, "failover set back to false in Git; activation is one-way, nothing is undone")
	default:
		if s, wave := f.current(); s != nil {
			at := text(s.Name)
			if s.Wave != "" {
				at = "wave " + strconv.Itoa(wave) + "/" + strconv.Itoa(f.waves()) + " " + code(s.Wave)
			}
			parts = append(parts, at)
			if s.State == StepStalled && s.Waiting != "" {
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

func rank(p Phase) int {
	return map[Phase]int{PhaseComplete: 0, PhaseReverted: 1, PhasePending: 2, PhaseRunning: 3, PhaseStalled: 4}[p]
}
