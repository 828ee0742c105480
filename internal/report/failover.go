package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/planner"
)

// failover is one plan's failover as the renderers read it: the planner's report of the plan,
// its FailoverStatus, and that status' volumes by name. For a failover that has not started
// (phase pending: a preview) each volume's data-loss window is its lag now; once it runs, the
// window recorded when the volume was caught up.
type failover struct {
	planner.PlanReport
	*planner.FailoverReport
	vols map[string]planner.FailoverVolumeReport
}

func newFailover(p planner.PlanReport) failover {
	f := failover{PlanReport: p, FailoverReport: p.FailoverStatus, vols: map[string]planner.FailoverVolumeReport{}}
	if f.FailoverReport == nil {
		f.FailoverReport = &planner.FailoverReport{}
	}
	for _, v := range f.FailoverReport.Volumes {
		f.vols[v.Name] = v
	}
	return f
}

func failovers(ps []planner.PlanReport) []failover {
	out := make([]failover, 0, len(ps))
	for _, p := range ps {
		out = append(out, newFailover(p))
	}
	return out
}

// Failovers are the plans of a pass' report whose failover the comment of revision rev shows:
// those it turned on (or that run without a recorded revision yet, or are blocked), reverted
// ones and volumes activated outside drplan left out.
func Failovers(rep planner.Report, rev string) []planner.PlanReport {
	var out []planner.PlanReport
	for _, p := range rep.Plans {
		fs := p.FailoverStatus
		if fs == nil || fs.Phase == planner.FailoverReverted || fs.Phase == planner.FailoverActivatedOutside || (fs.Revision != "" && fs.Revision != rev) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// onMerge are the plans whose failover a preview's decision would start: failover is on at the
// head and no failover of the plan has started (pending), or could not start (blocked).
func onMerge(rep planner.Report) []failover {
	var out []failover
	for _, p := range rep.Plans {
		if fs := p.FailoverStatus; fs != nil && (fs.Phase == planner.FailoverPending || fs.Phase == planner.FailoverBlocked) {
			out = append(out, newFailover(p))
		}
	}
	return out
}

// underWay are the plans whose failover runs or is stalled: a preview shows where they stand,
// so that a change made during a failover is reviewed knowing it.
func underWay(rep planner.Report) []failover {
	var out []failover
	for _, p := range rep.Plans {
		if fs := p.FailoverStatus; fs != nil && (fs.Phase == planner.FailoverRunning || fs.Phase == planner.FailoverStalled) {
			out = append(out, newFailover(p))
		}
	}
	return out
}

// stepVolumes are a step's volumes.
func (f failover) stepVolumes(s planner.FailoverStepReport) []planner.FailoverVolumeReport {
	out := make([]planner.FailoverVolumeReport, 0, len(s.Volumes))
	for _, n := range s.Volumes {
		v, ok := f.vols[n]
		if !ok {
			v = planner.FailoverVolumeReport{Name: n}
		}
		out = append(out, v)
	}
	return out
}

// volumes returns every volume of every step.
func (f failover) volumes() []planner.FailoverVolumeReport {
	var out []planner.FailoverVolumeReport
	for _, s := range f.Steps {
		out = append(out, f.stepVolumes(s)...)
	}
	return out
}

// dataLoss is the largest data-loss window of the failover's volumes; known is false when
// some volume has restored nothing (it would come up empty) or there are no volumes.
func (f failover) dataLoss() (d time.Duration, known bool) {
	vs := f.volumes()
	known = len(vs) > 0
	for _, v := range vs {
		if !v.DataLossKnown {
			known = false
			continue
		}
		d = max(d, v.DataLoss.Duration)
	}
	return d, known
}

// waves counts the steps that are waves.
func (f failover) waves() int {
	n := 0
	for _, s := range f.Steps {
		if s.Wave != "" {
			n++
		}
	}
	return n
}

// maxCellVolumes is how many volumes a wave's table cell names; the rest are counted (a wave
// of 200 volumes in one cell is unreadable; drplan status -o json lists them all).
const maxCellVolumes = 8

// stepLabel is how a step other than a wave is named in a comment.
func stepLabel(name string) string {
	if name == planner.StepFinalBackup {
		return "final backup"
	}
	return name
}

// current returns the step under way (running or stalled), with its wave's position.
func (f failover) current() (s *planner.FailoverStepReport, wave int) {
	for i := range f.Steps {
		if f.Steps[i].Wave != "" {
			wave++
		}
		if st := f.Steps[i].State; st == planner.StepRunning || st == planner.StepStalled {
			return &f.Steps[i], wave
		}
	}
	return nil, 0
}

// gateCell renders a gate with its state once known.
func gateCell(g planner.GateReport, running bool) string {
	s := text(g.String())
	switch {
	case g.TimedOut:
		s = "⛔ " + s + " timed out after " + human(g.Timeout.Duration)
	case g.Ready:
		s = "✅ " + s
	case running:
		s = "⏳ " + s
		if g.Message != "" {
			s += ": " + text(g.Message)
		}
	default:
		if g.Timeout.Duration > 0 {
			s += " (" + human(g.Timeout.Duration) + ")"
		}
	}
	return s
}

// lagText renders a volume's lag, with a breach of the RPO marked.
func lagText(v planner.FailoverVolumeReport, rpo time.Duration) string {
	if !v.DataLossKnown {
		return "⚠️ nothing restored"
	}
	s := human(v.DataLoss.Duration)
	if rpo > 0 && v.DataLoss.Duration > rpo {
		s += " ⚠️"
	}
	return s
}

// previewSection renders what a failover would do if it ran now.
func previewSection(f failover) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### 🚨 Failover of %s on merge: %s → %s\n\n", code(f.Name), code(f.Primary), code(f.Secondary))
	line := "If it ran now: data-loss window " + lossText(f)
	var flow []string
	for _, s := range f.Steps {
		if s.Wave == "" && (s.Name != planner.StepFinalBackup || f.Planned) {
			flow = append(flow, text(stepLabel(s.Name)))
		}
	}
	flow = append(flow, plural(f.waves(), "wave", "waves")+" of "+plural(len(f.volumes()), "volume", "volumes"))
	b.WriteString(line + " · " + strings.Join(flow, " → ") + "\n\n")
	scale := false
	for _, s := range f.Steps {
		scale = scale || len(s.Scale) > 0
	}
	cols := []string{"wave", "volumes (lag now)", "gates before the next wave"}
	if scale {
		cols = append(cols, "then scaled up")
	}
	b.WriteString(header(cols...))
	n := 0
	for _, s := range f.Steps {
		if s.Wave == "" {
			continue
		}
		n++
		var vols, gates []string
		sv := f.stepVolumes(s)
		for i, v := range sv {
			if i == maxCellVolumes {
				vols = append(vols, fmt.Sprintf("and %d more", len(sv)-i))
				break
			}
			vols = append(vols, codeCell(v.Name)+" "+lagText(v, f.RPO.Duration))
		}
		for _, g := range s.Gates {
			gates = append(gates, gateCell(g, false))
		}
		cells := []string{fmt.Sprintf("%d. %s", n, codeCell(s.Wave)), dash(strings.Join(vols, " · ")), dash(strings.Join(gates, " · "))}
		if scale {
			var sc []string
			for _, x := range s.Scale {
				sc = append(sc, text(x.String()))
			}
			cells = append(cells, dash(strings.Join(sc, " · ")))
		}
		b.WriteString(row(cells...))
	}
	return b.String()
}

// lossText renders the data-loss window of a failover that would run now, with the RPO.
func lossText(f failover) string {
	loss, known := f.dataLoss()
	s := "**unknown**"
	if known {
		s = "up to **" + human(loss) + "**"
	}
	if f.RPO.Duration > 0 {
		s += " (RPO " + human(f.RPO.Duration) + ")"
	}
	return s
}

// progressSection renders a failover under way or done.
func progressSection(f failover) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s Failover of %s: %s → %s · %s\n\n", phaseIcon(f.Phase), code(f.Name), code(f.Primary), code(f.Secondary), f.Phase)
	b.WriteString(progressLine(f) + "\n\n")
	if len(f.Steps) > 0 {
		b.WriteString(header("step", "state", "volumes", "gates", "started", "took"))
	}
	for _, s := range f.Steps {
		name := text(stepLabel(s.Name))
		if s.Wave != "" {
			name = "wave " + codeCell(s.Wave)
		}
		// What a running step waits for is said once, above the table and in its gates.
		state := stepIcon(s.State) + " " + string(s.State)
		if s.Note != "" {
			state += ": " + text(s.Note)
		}
		var vols, gates []string
		sv := f.stepVolumes(s)
		for i, v := range sv {
			if i == maxCellVolumes {
				active := 0
				for _, r := range sv[i:] {
					if r.Active {
						active++
					}
				}
				vols = append(vols, fmt.Sprintf("and %d more (%d active)", len(sv)-i, active))
				break
			}
			c := codeCell(v.Name)
			if v.Active {
				c += " ✅"
			}
			if v.DataLossKnown {
				c += " (lost " + human(v.DataLoss.Duration) + ")"
			}
			vols = append(vols, c)
		}
		for _, g := range s.Gates {
			gates = append(gates, gateCell(g, s.State == planner.StepRunning || s.State == planner.StepStalled))
		}
		took := ""
		switch {
		case !s.FinishedAt.IsZero():
			took = human(s.FinishedAt.Sub(s.StartedAt))
		case !s.StartedAt.IsZero() && !f.FinishedAt.IsZero():
			took = human(f.FinishedAt.Sub(s.StartedAt))
		}
		b.WriteString(row(name, state, dash(strings.Join(vols, " · ")), dash(strings.Join(gates, " · ")), clock(s.StartedAt), took))
	}
	if len(f.Notes) > 0 {
		b.WriteString("\n**Notes**\n\n")
		var notes []string
		for _, n := range f.Notes {
			notes = append(notes, "⚠️ "+text(n))
		}
		b.WriteString(list(notes))
	}
	if len(f.Timeline) > 0 {
		b.WriteString("\n")
		t := timelineTable(f)
		if f.Phase == planner.FailoverComplete {
			// The final record: shown, not folded.
			b.WriteString("**Timeline**\n\n" + t)
		} else {
			b.WriteString(fold("Timeline: "+plural(len(f.Timeline), "event", "events"), t))
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// progressLine is the line under a failover's heading: how long, how much data lost.
func progressLine(f failover) string {
	var parts []string
	kind := "unplanned failover (primary " + code(f.Primary) + " unreachable)"
	if f.Planned {
		kind = "planned switchover"
	}
	switch f.Phase {
	case planner.FailoverComplete:
		parts = append(parts, "RTO **"+human(f.FinishedAt.Sub(f.StartedAt))+"**")
	case planner.FailoverPending:
		parts = append(parts, "Starting: the failover record is not written yet")
	default:
		if !f.StartedAt.IsZero() {
			parts = append(parts, "Started "+when(f.StartedAt))
		}
	}
	if loss, known := f.dataLoss(); known {
		w := "data-loss window **" + human(loss) + "**"
		if f.RPO.Duration > 0 {
			w += " (RPO " + human(f.RPO.Duration) + ")"
		}
		parts = append(parts, w)
	}
	if f.Phase != planner.FailoverPending {
		parts = append(parts, kind)
	}
	if f.Phase == planner.FailoverComplete {
		parts = append(parts, clock(f.StartedAt)+" → "+clock(f.FinishedAt)+" UTC")
	}
	line := strings.Join(parts, " · ")
	if f.FailoverReport.Waiting != "" && f.Phase != planner.FailoverComplete {
		line += "\n\nWaiting for: " + text(f.FailoverReport.Waiting)
	}
	return line
}

func timelineTable(f failover) string {
	var b strings.Builder
	b.WriteString(header("time (UTC)", "since start", "event"))
	for _, e := range f.Timeline {
		since := ""
		if !f.StartedAt.IsZero() {
			since = "+" + human(e.At.Sub(f.StartedAt))
		}
		b.WriteString(row(clock(e.At), since, text(e.Event)))
	}
	return b.String()
}

func phaseIcon(p planner.FailoverPhase) string {
	switch p {
	case planner.FailoverComplete:
		return "✅"
	case planner.FailoverStalled, planner.FailoverBlocked:
		return "⛔"
	case planner.FailoverReverted:
		return "↩️"
	case planner.FailoverPending:
		return "⏳"
	}
	return "🔄"
}

func stepIcon(s planner.StepState) string {
	switch s {
	case planner.StepDone:
		return "✅"
	case planner.StepRunning:
		return "🔄"
	case planner.StepStalled:
		return "⛔"
	}
	return "⏳"
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
