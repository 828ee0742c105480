package report

import (
	"fmt"
	"strings"
	"time"
)

// Failover is one plan's failover, as this package renders it: for a preview, what it would do
// if it ran now (Phase empty, each volume's Lag the lag now); for progress, where it stands
// (each volume's Lag the data-loss window recorded when it was caught up). The agent fills it
// from the planner's report.
type Failover struct {
	Plan      string
	Primary   string
	Secondary string
	// Phase is empty for a preview.
	Phase Phase
	// Planned is true for a planned switchover: the primary answered when it began.
	Planned bool
	// Revision is the commit that turned failover on.
	Revision string
	// StartedAt and FinishedAt bound the failover; zero until known.
	StartedAt  time.Time
	FinishedAt time.Time
	// RPO is the plan's recovery point objective; a volume lagging more is a breach.
	RPO time.Duration
	// Waiting says what the failover waits for now.
	Waiting string
	// Steps are the steps in order: the final backup and the catch-up, then one per wave.
	Steps []Step
	// Timeline is every start and end, in order.
	Timeline []Event
	// Notes are facts a person must know (primary unreachable, catch-up timed out, fencing).
	Notes []string
}

// Phase is where a failover stands; the values are the planner's.
type Phase string

// Failover phases.
const (
	PhasePending  Phase = "pending"
	PhaseRunning  Phase = "running"
	PhaseStalled  Phase = "stalled"
	PhaseComplete Phase = "complete"
	PhaseReverted Phase = "reverted"
)

// StepState is where a step stands; the values are the planner's.
type StepState string

// Step states.
const (
	StepPending StepState = "pending"
	StepRunning StepState = "running"
	StepDone    StepState = "done"
	StepStalled StepState = "stalled"
)

// Step is one step of a failover: the final backup, the catch-up, or a wave.
type Step struct {
	// Name is the step's name; Wave names a wave's step.
	Name string
	// Wave is the wave's name, empty for the other steps.
	Wave       string
	State      StepState
	StartedAt  time.Time
	FinishedAt time.Time
	// Waiting says what a running step waits for; Note how a step ended.
	Waiting string
	Note    string
	// Volumes are a wave's volumes.
	Volumes []Volume
	// Gates must be ready before the next wave starts.
	Gates []Gate
	// Scale are the workloads scaled up once the wave's volumes are active, such as
	// "StatefulSet prod/postgres to 3".
	Scale []string
}

// Volume is one volume of a wave.
type Volume struct {
	Name string
	// Active is true once activated.
	Active bool
	// State is the standby volume's state for a preview (caught-up, restoring, missing, …).
	State string
	// Lag is the data-loss window: the lag now for a preview, as recorded at catch-up once
	// the failover runs. LagKnown is false when the volume has restored nothing yet.
	Lag      time.Duration
	LagKnown bool
}

// Gate is a resource that must be ready before the next wave.
type Gate struct {
	Kind      string
	Namespace string
	Name      string
	Timeout   time.Duration
	// Ready, Message and TimedOut are known once the wave runs.
	Ready    bool
	Message  string
	TimedOut bool
}

// Event is one line of a failover's timeline.
type Event struct {
	At    time.Time
	Event string
}

// volumes returns every volume of every step.
func (f *Failover) volumes() []Volume {
	var out []Volume
	for _, s := range f.Steps {
		out = append(out, s.Volumes...)
	}
	return out
}

// DataLoss is the largest data-loss window of the failover's volumes; known is false when
// some volume has restored nothing (it would come up empty) or there are no volumes.
func (f *Failover) DataLoss() (d time.Duration, known bool) {
	vs := f.volumes()
	known = len(vs) > 0
	for _, v := range vs {
		if !v.LagKnown {
			known = false
			continue
		}
		d = max(d, v.Lag)
	}
	return d, known
}

// waves counts the steps that are waves.
func (f *Failover) waves() int {
	n := 0
	for _, s := range f.Steps {
		if s.Wave != "" {
			n++
		}
	}
	return n
}

// current returns the step under way (running or stalled), with its wave's position.
func (f *Failover) current() (s *Step, wave int) {
	for i := range f.Steps {
		if f.Steps[i].Wave != "" {
			wave++
		}
		if st := f.Steps[i].State; st == StepRunning || st == StepStalled {
			return &f.Steps[i], wave
		}
	}
	return nil, 0
}

func (g Gate) String() string {
	obj := g.Kind + " " + g.Name
	if g.Namespace != "" {
		obj = g.Kind + " " + g.Namespace + "/" + g.Name
	}
	return obj
}

// gateCell renders a gate with its state once known.
func gateCell(g Gate, running bool) string {
	s := text(g.String())
	switch {
	case g.TimedOut:
		s = "⛔ " + s + " timed out after " + human(g.Timeout)
	case g.Ready:
		s = "✅ " + s
	case running:
		s = "⏳ " + s
		if g.Message != "" {
			s += ": " + text(g.Message)
		}
	default:
		if g.Timeout > 0 {
			s += " (" + human(g.Timeout) + ")"
		}
	}
	return s
}

// lagText renders a volume's lag, with a breach of the RPO marked.
func lagText(v Volume, rpo time.Duration) string {
	if !v.LagKnown {
		return "⚠️ nothing restored"
	}
	s := human(v.Lag)
	if rpo > 0 && v.Lag > rpo {
		s += " ⚠️"
	}
	return s
}

// previewSection renders what a failover would do if it ran now.
func previewSection(f Failover) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### 🚨 Failover of %s on merge: %s → %s\n\n", code(f.Plan), code(f.Primary), code(f.Secondary))
	line := "If it ran now: data-loss window " + lossText(f)
	var flow []string
	for _, s := range f.Steps {
		if s.Wave == "" {
			flow = append(flow, text(s.Name))
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
		for _, v := range s.Volumes {
			vols = append(vols, codeCell(v.Name)+" "+lagText(v, f.RPO))
		}
		for _, g := range s.Gates {
			gates = append(gates, gateCell(g, false))
		}
		cells := []string{fmt.Sprintf("%d. %s", n, codeCell(s.Wave)), dash(strings.Join(vols, " · ")), dash(strings.Join(gates, " · "))}
		if scale {
			var sc []string
			for _, x := range s.Scale {
				sc = append(sc, text(x))
			}
			cells = append(cells, dash(strings.Join(sc, " · ")))
		}
		b.WriteString(row(cells...))
	}
	return b.String()
}

// lossText renders the data-loss window of a failover that would run now, with the RPO.
func lossText(f Failover) string {
	loss, known := f.DataLoss()
	s := "**unknown**"
	if known {
		s = "up to **" + human(loss) + "**"
	}
	if f.RPO > 0 {
		s += " (RPO " + human(f.RPO) + ")"
	}
	return s
}

// progressSection renders a failover under way or done.
func progressSection(f Failover) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s Failover of %s: %s → %s · %s\n\n", phaseIcon(f.Phase), code(f.Plan), code(f.Primary), code(f.Secondary), f.Phase)
	b.WriteString(progressLine(f) + "\n\n")
	if len(f.Steps) > 0 {
		b.WriteString(header("step", "state", "volumes", "gates", "started", "took"))
	}
	for _, s := range f.Steps {
		name := text(s.Name)
		if s.Wave != "" {
			name = "wave " + codeCell(s.Wave)
		}
		// What a running step waits for is said once, above the table and in its gates.
		state := stepIcon(s.State) + " " + string(s.State)
		if s.Note != "" {
			state += ": " + text(s.Note)
		}
		var vols, gates []string
		for _, v := range s.Volumes {
			c := codeCell(v.Name)
			if v.Active {
				c += " ✅"
			}
			if v.LagKnown {
				c += " (lost " + human(v.Lag) + ")"
			}
			vols = append(vols, c)
		}
		for _, g := range s.Gates {
			gates = append(gates, gateCell(g, s.State == StepRunning || s.State == StepStalled))
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
		if f.Phase == PhaseComplete {
			// The final record: shown, not folded.
			b.WriteString("**Timeline**\n\n" + t)
		} else {
			b.WriteString(fold("Timeline: "+plural(len(f.Timeline), "event", "events"), t))
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// progressLine is the line under a failover's heading: how long, how much data lost.
func progressLine(f Failover) string {
	var parts []string
	kind := "unplanned failover (primary " + code(f.Primary) + " unreachable)"
	if f.Planned {
		kind = "planned switchover"
	}
	switch f.Phase {
	case PhaseComplete:
		parts = append(parts, "RTO **"+human(f.FinishedAt.Sub(f.StartedAt))+"**")
	case PhasePending:
		parts = append(parts, "Starting: the failover record is not written yet")
	default:
		if !f.StartedAt.IsZero() {
			parts = append(parts, "Started "+when(f.StartedAt))
		}
	}
	if loss, known := f.DataLoss(); known {
		w := "data-loss window **" + human(loss) + "**"
		if f.RPO > 0 {
			w += " (RPO " + human(f.RPO) + ")"
		}
		parts = append(parts, w)
	}
	if f.Phase != PhasePending {
		parts = append(parts, kind)
	}
	if f.Phase == PhaseComplete {
		parts = append(parts, clock(f.StartedAt)+" → "+clock(f.FinishedAt)+" UTC")
	}
	line := strings.Join(parts, " · ")
	if f.Waiting != "" && f.Phase != PhaseComplete {
		line += "\n\nWaiting for: " + text(f.Waiting)
	}
	return line
}

func timelineTable(f Failover) string {
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

func phaseIcon(p Phase) string {
	switch p {
	case PhaseComplete:
		return "✅"
	case PhaseStalled:
		return "⛔"
	case PhaseReverted:
		return "↩️"
	case PhasePending:
		return "⏳"
	}
	return "🔄"
}

func stepIcon(s StepState) string {
	switch s {
	case StepDone:
		return "✅"
	case StepRunning:
		return "🔄"
	case StepStalled:
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
