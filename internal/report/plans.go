package report

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/plans"
)

// Outcome is one action the agent carried out, and its error.
type Outcome struct {
	Action planner.Action
	Err    error
}

// change is one action of a plan on a cluster, with its outcome once applied.
type change struct {
	cluster, what string
	applied       bool
	err           error
}

// byPlan groups actions by plan, keeping their order.
func byPlan(actions []planner.Action) map[string][]change {
	out := map[string][]change{}
	for _, a := range actions {
		out[a.Plan()] = append(out[a.Plan()], change{cluster: a.Cluster(), what: a.String()})
	}
	return out
}

// outcomesByPlan groups outcomes by plan, keeping their order.
func outcomesByPlan(outs []Outcome) map[string][]change {
	out := map[string][]change{}
	for _, o := range outs {
		a := o.Action
		out[a.Plan()] = append(out[a.Plan()], change{cluster: a.Cluster(), what: a.String(), applied: true, err: o.Err})
	}
	return out
}

// perCluster renders "east 1 · west 3".
func perCluster(cs []change) string {
	n := map[string]int{}
	for _, c := range cs {
		n[c.cluster]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s %d", codeCell(k), n[k]))
	}
	return strings.Join(parts, " · ")
}

// clustersOf lists the clusters changes touch, sorted.
func clustersOf(m map[string][]change) []string {
	set := map[string]bool{}
	for _, cs := range m {
		for _, c := range cs {
			set[c.cluster] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func count(m map[string][]change) int {
	n := 0
	for _, cs := range m {
		n += len(cs)
	}
	return n
}

// changesLine renders "4 changes in `east`, `west`" or "no change to the clusters".
func changesLine(m map[string][]change, verb string) string {
	n := count(m)
	if n == 0 {
		return "no change to the clusters"
	}
	var cl []string
	for _, c := range clustersOf(m) {
		cl = append(cl, code(c))
	}
	return plural(n, "change", "changes") + verb + " in " + strings.Join(cl, ", ")
}

// planNames lists the plans of the report and of the changes, report order first.
func planNames(r planner.Report, m map[string][]change) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range r.Plans {
		if !seen[p.Name] {
			out, seen[p.Name] = append(out, p.Name), true
		}
	}
	for _, n := range slices.Sorted(maps.Keys(m)) {
		if !seen[n] {
			out, seen[n] = append(out, n), true
		}
	}
	return out
}

func planByName(r planner.Report, name string) *planner.PlanReport {
	for i := range r.Plans {
		if r.Plans[i].Name == name {
			return &r.Plans[i]
		}
	}
	return nil
}

// standbyCell renders "2/3 caught up · lag ≤ 4m".
func standbyCell(p *planner.PlanReport) string {
	if p == nil || len(p.Volumes) == 0 {
		return "—"
	}
	ready, maxLag, known := 0, time.Duration(0), true
	for _, v := range p.Volumes {
		if v.State == planner.StandbyCaughtUp || v.State == planner.StandbyActive {
			ready++
		}
		if v.LagKnown {
			maxLag = max(maxLag, v.Lag.Duration)
		} else {
			known = false
		}
	}
	s := fmt.Sprintf("%d/%d caught up", ready, len(p.Volumes))
	if known {
		s += " · lag ≤ " + human(maxLag)
	}
	return s
}

// stateCell is a plan's state in one short cell.
func stateCell(p *planner.PlanReport, flips bool, cs []change) string {
	failed := 0
	for _, c := range cs {
		if c.err != nil {
			failed++
		}
	}
	switch {
	case failed > 0:
		return "❌ " + plural(failed, "change", "changes") + " failed"
	case p != nil && p.Invalid:
		return "❌ invalid: " + plural(len(p.Problems), "problem", "problems")
	case flips && p != nil && p.FailoverStatus != nil && p.FailoverStatus.Phase == planner.FailoverBlocked:
		return "⛔ cannot fail over: " + text(p.FailoverStatus.Waiting)
	case flips:
		return "🚨 fails over on merge"
	case p != nil && p.Failover:
		return "🔄 failover on"
	case p != nil && p.RPOBreach:
		return "⚠️ lag over RPO " + human(p.RPO.Duration)
	case p != nil && len(p.Problems) > 0:
		return "⚠️ needs a human: " + text(p.Problems[0])
	case p != nil && len(p.Waiting) > 0:
		return "⏳ " + text(p.Waiting[0])
	case len(cs) > 0 && cs[0].applied:
		return "✅ changed"
	case len(cs) > 0:
		return "🔧 will change"
	case p == nil:
		return "—"
	}
	return "✅ in sync"
}

// planTable renders one row per plan.
func planTable(r planner.Report, m map[string][]change, flips map[string]bool) string {
	var b strings.Builder
	b.WriteString(header("plan", "primary → secondary", "changes", "standby volumes", "state"))
	for _, name := range planNames(r, m) {
		p := planByName(r, name)
		clusters := "—"
		if p != nil {
			clusters = codeCell(p.Primary) + " → " + codeCell(p.Secondary)
		}
		b.WriteString(row(codeCell(planLabel(name)), clusters, dash(perCluster(m[name])), standbyCell(p), stateCell(p, flips[name], m[name])))
	}
	return b.String()
}

func planLabel(name string) string {
	if name == "" {
		return "(no plan)"
	}
	return name
}

// planDetails renders each plan's changes, volumes and waits, folded.
func planDetails(r planner.Report, m map[string][]change) string {
	var b strings.Builder
	for _, name := range planNames(r, m) {
		p := planByName(r, name)
		cs := m[name]
		var body strings.Builder
		var title []string
		if len(cs) > 0 {
			failed := 0
			applied := cs[0].applied
			cols := []string{"cluster", "change"}
			if applied {
				cols = append(cols, "result")
			}
			body.WriteString(header(cols...))
			for _, c := range slices.SortedStableFunc(slices.Values(cs), func(a, b change) int { return cmp.Compare(a.cluster, b.cluster) }) {
				cells := []string{codeCell(c.cluster), text(c.what)}
				if applied {
					res := "✅"
					if c.err != nil {
						res, failed = "❌ "+text(c.err.Error()), failed+1
					}
					cells = append(cells, res)
				}
				body.WriteString(row(cells...))
			}
			body.WriteString("\n")
			t := plural(len(cs), "change", "changes")
			if failed > 0 {
				t += fmt.Sprintf(", %d failed", failed)
			}
			title = append(title, t)
		}
		if p != nil {
			if len(p.Volumes) > 0 {
				body.WriteString(volumeTable(p))
				body.WriteString("\n")
			}
			problems := p.Problems
			if p.Invalid {
				problems = nil // listed above, with their places
			}
			for _, sec := range []struct {
				title, one, many string
				items            []string
			}{
				{"Needs a human", "problem", "problems", problems},
				{"Waiting", "waiting", "waiting", p.Waiting},
				{"Orphaned standby volumes (drplan never deletes them)", "orphan", "orphans", p.Orphans},
			} {
				if len(sec.items) == 0 {
					continue
				}
				var items []string
				for _, it := range sec.items {
					items = append(items, text(it))
				}
				body.WriteString(sec.title + ":\n\n" + list(items) + "\n")
				title = append(title, plural(len(sec.items), sec.one, sec.many))
			}
		}
		if body.Len() == 0 {
			continue
		}
		if p != nil && len(p.Volumes) > 0 {
			title = append(title, plural(len(p.Volumes), "volume", "volumes"))
		}
		sum := "<b>" + htmlText(planLabel(name)) + "</b>"
		if len(title) > 0 {
			sum += ": " + htmlText(strings.Join(title, ", "))
		}
		b.WriteString(fold(sum, body.String()) + "\n")
	}
	return b.String()
}

// volumeTable renders a plan's volumes.
func volumeTable(p *planner.PlanReport) string {
	var b strings.Builder
	b.WriteString(header("volume", "wave", "standby", "newest backup", "lag"))
	for _, v := range p.Volumes {
		st := text(string(v.State))
		if v.Reason != "" {
			st += ": " + text(v.Reason)
		}
		backup := "—"
		if v.LastBackup != "" {
			backup = codeCell(v.LastBackup)
			if v.BackupAge.Duration > 0 {
				backup += " (" + human(v.BackupAge.Duration) + " ago)"
			}
			if v.LastBackupConsistency == plans.ApplicationConsistent {
				backup += ", application-consistent"
			}
		}
		lag := "—"
		if v.LagKnown {
			lag = human(v.Lag.Duration)
			if v.RPOBreach {
				lag += " ⚠️"
			}
		}
		b.WriteString(row(codeCell(v.Name), codeCell(v.Wave), st, backup, lag))
	}
	return b.String()
}

// clusterWarnings lists the clusters that are unreachable or not synced.
func clusterWarnings(r planner.Report) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(r.Clusters)) {
		c := r.Clusters[name]
		switch {
		case !c.Reachable:
			w := "cluster " + code(name) + " unreachable"
			if !c.DownSince.IsZero() {
				w += " since " + when(c.DownSince)
			}
			w += ": its changes wait until it answers"
			if c.Error != "" {
				w += " (" + text(c.Error) + ")"
			}
			out = append(out, w)
		case !c.Synced:
			out = append(out, "cluster "+code(name)+" not synced yet: what it shows may be incomplete")
		}
	}
	return out
}

// rpoWarnings lists the plans whose volumes lag more than their RPO.
func rpoWarnings(r planner.Report) []string {
	var out []string
	for _, p := range r.Plans {
		if !p.RPOBreach {
			continue
		}
		var vs []string
		for _, v := range p.Volumes {
			if v.RPOBreach {
				vs = append(vs, code(v.Name)+" "+human(v.Lag.Duration))
			}
		}
		out = append(out, fmt.Sprintf("plan %s: lag over its RPO of %s: %s", code(p.Name), human(p.RPO.Duration), strings.Join(vs, ", ")))
	}
	return out
}

// failoverWarnings lists what a reviewer must know before merging a failover.
func failoverWarnings(r planner.Report, f failover) []string {
	var out []string
	if f.Phase == planner.FailoverBlocked {
		out = append(out, fmt.Sprintf("plan %s: merging cannot succeed: %s", code(f.Name), text(f.FailoverReport.Waiting)))
	}
	if c, ok := r.Clusters[f.Secondary]; ok && !c.Reachable {
		out = append(out, fmt.Sprintf("plan %s: secondary %s unreachable: failover cannot start until it answers", code(f.Name), code(f.Secondary)))
	}
	if c, ok := r.Clusters[f.Primary]; ok && !c.Reachable {
		out = append(out, fmt.Sprintf("plan %s: primary %s unreachable: failover would run unplanned, without a final backup; the lag below is data lost", code(f.Name), code(f.Primary)))
	}
	for _, v := range f.volumes() {
		if !v.DataLossKnown {
			out = append(out, fmt.Sprintf("plan %s: %s has restored nothing and would come up empty", code(f.Name), code(v.Name)))
		}
	}
	for _, n := range f.Notes {
		if f.Phase == planner.FailoverBlocked && strings.HasPrefix(n, f.FailoverReport.Waiting) {
			n = strings.TrimPrefix(strings.TrimPrefix(n, f.FailoverReport.Waiting), ". ") // said above
		}
		out = append(out, fmt.Sprintf("plan %s: %s", code(f.Name), text(n)))
	}
	return out
}

// problemRE reads FILE:LINE:COL: FIELD: MESSAGE.
var problemRE = regexp.MustCompile(`^(.+?):(\d+):(\d+): ([^ :]+): (.*)$`)

// problemItem renders a problem with its place in code and its message as text.
func problemItem(p string) string {
	m := problemRE.FindStringSubmatch(p)
	if m == nil {
		return text(p)
	}
	return fmt.Sprintf("%s %s: %s", code(m[1]+":"+m[2]+":"+m[3]), code(m[4]), text(m[5]))
}

// maxListed bounds a list shown unfolded; the rest is folded.
const maxListed = 10

// problemList renders problems, the first ones open and the rest folded.
func problemList(problems []string) string {
	var items []string
	for _, p := range problems {
		items = append(items, problemItem(p))
	}
	if len(items) <= maxListed {
		return list(items)
	}
	return list(items[:maxListed]) + "\n" + fold(fmt.Sprintf("%d more problems", len(items)-maxListed), list(items[maxListed:]))
}
