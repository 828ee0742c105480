package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/drplan/drplan/agent"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/revision"
	"github.com/drplan/drplan/internal/status"
	"github.com/drplan/drplan/plans"
)

type statusOptions struct {
	address string
	config  string
	output  string
}

func newStatusCommand() *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status [--config agent.yaml | --address HOST:PORT] [-o table|json|yaml]",
		Short: "Show per-plan and per-volume DR status from a running agent",
		Long: `Status reads a running agent's status endpoint (the config's status.listen) and prints each
plan and volume: standby state, newest backup age, replication lag against the RPO, and what
each plan waits for or needs fixed. A replica that does not lead answers with the plans' status
objects (DRPlanStatus) the leader wrote in the clusters; with --config, when no agent answers,
drplan status reads those objects from the clusters itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, err := statusAddress(o.address, o.config)
			if err != nil {
				return err
			}
			st, _, err := status.Fetch(cmd.Context(), addr)
			if err != nil {
				if o.config == "" {
					return err
				}
				// No agent answers: the status objects the leader wrote in the clusters.
				fmt.Fprintf(cmd.ErrOrStderr(), "drplan: %v; reading the plans' status objects from the clusters instead\n", err)
				if st, err = agent.ReadStatusObjects(cmd.Context(), o.config); err != nil {
					return err
				}
			}
			switch o.output {
			case "json":
				b, err := json.MarshalIndent(st, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			case "yaml":
				b, err := yaml.Marshal(st)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			case "table", "":
				return printStatus(cmd.OutOrStdout(), st, time.Now())
			default:
				return fmt.Errorf("unknown output format %q: use table, json or yaml", o.output)
			}
		},
	}
	cmd.Flags().StringVar(&o.address, "address", "", "the agent's status listener, HOST:PORT (default: from --config, else 127.0.0.1:9090)")
	cmd.Flags().StringVar(&o.config, "config", "", "agent config file, to find the status listener")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	return cmd
}

// printStatus renders the status as tables a person reads at a glance.
func printStatus(w io.Writer, st status.Status, now time.Time) error {
	if !st.Leading {
		return printObjects(w, st, now)
	}
	fmt.Fprintf(w, "Plans repo %s at %s", st.Source.URL, orDash(revision.Short(st.Source.Revision)))
	if st.Source.Message != "" {
		fmt.Fprintf(w, " (%s)", st.Source.Message)
	}
	fmt.Fprintln(w)
	if !st.Source.FailingSince.IsZero() {
		fmt.Fprintf(w, "  fetch failing since %s: %s (last good revision stays in force)\n", st.Source.FailingSince.Format(time.RFC3339), st.Source.Error)
	}
	names := make([]string, 0, len(st.Clusters))
	for n := range st.Clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := st.Clusters[n]
		switch {
		case !c.Reachable:
			fmt.Fprintf(w, "Cluster %s: UNREACHABLE since %s (%s)\n", n, c.DownSince.Format("15:04:05"), c.Error)
		case !c.Synced:
			fmt.Fprintf(w, "Cluster %s: connecting\n", n)
		default:
			fmt.Fprintf(w, "Cluster %s: reachable\n", n)
		}
		if len(c.MissingPermissions) > 0 {
			fmt.Fprintln(w, "  MISSING PERMISSIONS: the agent's ClusterRole (examples/deploy/rbac.yaml or the Helm chart's) lacks:")
			for _, p := range c.MissingPermissions {
				fmt.Fprintf(w, "    %s\n", p)
			}
		}
	}
	for _, p := range st.Plans {
		fmt.Fprintln(w)
		head := fmt.Sprintf("Plan %s: %s -> %s", p.Name, orDash(p.Primary), orDash(p.Secondary))
		switch {
		case p.Invalid:
			head += "  INVALID (not applied)"
		case p.Suspended:
			head += "  SUSPENDED (nothing is changed for it)"
		case p.Refused:
			head += "  REFUSED (another shard drives it)"
		case p.RPOBreach:
			head += fmt.Sprintf("  RPO %s BREACHED", p.RPO.Duration)
		case p.RPO.Duration > 0:
			head += fmt.Sprintf("  RPO %s", p.RPO.Duration)
		}
		if p.Failover {
			head += "  failover: true"
		}
		if p.Lifecycle != "" && p.Lifecycle != planner.LifecycleInvalid && p.Lifecycle != planner.LifecycleSuspended {
			head += "  [" + string(p.Lifecycle) + "]"
		}
		fmt.Fprintln(w, head)
		for _, pr := range p.Problems {
			fmt.Fprintf(w, "  problem: %s\n", pr)
		}
		for _, wt := range p.Waiting {
			fmt.Fprintf(w, "  waiting: %s\n", wt)
		}
		if len(p.Orphans) > 0 {
			fmt.Fprintf(w, "  orphaned standby volumes (kept): %s\n", strings.Join(p.Orphans, ", "))
		}
		if sc := p.Schedule; sc != nil {
			fmt.Fprintf(w, "  schedule (run by the agent, application-consistent): %s\n", scheduleLine(sc, now))
		}
		if p.FailoverStatus != nil {
			if err := printFailover(w, p.FailoverStatus); err != nil {
				return err
			}
		}
		if p.ReversePullRequest != "" {
			fmt.Fprintf(w, "  unprotected: merge %s to protect the activated volumes again (the plan with the clusters swapped)\n", p.ReversePullRequest)
		}
		if p.ReverseProblem != "" {
			fmt.Fprintf(w, "  unprotected: %s\n", p.ReverseProblem)
		}
		if len(p.Stale) > 0 {
			fmt.Fprintf(w, "  stale volumes of the old primary (labelled drplan.io/stale): %s\n", strings.Join(p.Stale, ", "))
		}
		if p.Drill != nil {
			if err := printDrill(w, p.Drill, now); err != nil {
				return err
			}
		}
		if len(p.Volumes) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  VOLUME\tSTANDBY\tSTATE\tLAST BACKUP\tLAG\tRPO\tREASON")
		for i, v := range p.Volumes {
			if i == maxRows {
				fmt.Fprintf(tw, "  ... and %d more (%s; drplan status -o json lists every volume)\n", len(p.Volumes)-maxRows, volumeStates(p.Volumes[maxRows:]))
				break
			}
			age, lag, rpo := "-", "-", "ok"
			if v.LastBackup != "" {
				age = short(v.BackupAge.Duration) + " ago"
				if v.LastBackupConsistency == plans.ApplicationConsistent {
					age += " (app)"
				}
			}
			if v.LagKnown {
				lag = short(v.Lag.Duration)
			}
			if v.RPOBreach {
				rpo = "BREACH"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Standby, v.State, age, lag, rpo, v.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(st.LastPass.Errors) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Last pass errors:")
		for _, e := range st.LastPass.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	_, err := fmt.Fprintf(w, "\nUpdated %s ago.\n", short(now.Sub(st.UpdatedAt)))
	return err
}

// printDrill renders a plan's drill: phase, what a failover would have taken, each wave's
// time, each drill copy's backup and data-loss window.
func printDrill(w io.Writer, d *planner.DrillReport, now time.Time) error {
	head := fmt.Sprintf("  drill %s in namespace %s: %s", d.ID, d.Namespace, d.Phase)
	switch d.Phase {
	case planner.DrillSucceeded:
		head += fmt.Sprintf(": a failover would take %s after catch-up", short(d.RTO.Duration))
		if d.DataLossKnown {
			head += fmt.Sprintf(" and lose up to %s of writes", dataLoss(d.DataLoss.Duration))
		}
		head += fmt.Sprintf("; torn down in %s", short(d.KeepUntil.Sub(now)))
	case planner.DrillFailed:
		head += fmt.Sprintf("; torn down in %s", short(d.KeepUntil.Sub(now)))
	case planner.DrillTornDown:
		head += " at " + d.TornDownAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintln(w, head)
	if d.Waiting != "" && d.Phase != planner.DrillTornDown {
		fmt.Fprintf(w, "    waiting: %s\n", d.Waiting)
	}
	if d.Phase == planner.DrillTornDown {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    STEP\tSTATE\tTIME\tNOTE")
	for _, st := range d.Steps {
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", st.Name, st.State, short(st.Duration.Duration), orDash(firstLine(st.Note, st.Waiting)))
	}
	fmt.Fprintln(tw, "    VOLUME\tCOPY\tRESTORED\tDATA LOSS")
	for _, v := range d.Volumes {
		loss := "-"
		if v.DataLossKnown {
			loss = dataLoss(v.DataLoss.Duration)
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", v.Name, v.Standby, orDash(v.Restored), loss)
	}
	return tw.Flush()
}

func firstLine(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// printFailover renders a plan's failover: phase, steps and waves with their times, each
// volume's data-loss window, notes and the timeline.
func printFailover(w io.Writer, f *planner.FailoverReport) error {
	kind := "unplanned failover"
	if f.Planned {
		kind = "planned switchover"
	}
	head := fmt.Sprintf("  Failover %s: %s", strings.ToUpper(string(f.Phase)), kind)
	if f.Revision != "" {
		head += ", revision " + revision.Short(f.Revision)
	}
	if !f.StartedAt.IsZero() {
		head += ", started " + f.StartedAt.UTC().Format(time.RFC3339)
	}
	switch {
	case !f.FinishedAt.IsZero():
		head += fmt.Sprintf(", RTO %s", f.RTO.Duration.Round(time.Millisecond))
	case f.Elapsed.Duration > 0:
		head += ", elapsed " + short(f.Elapsed.Duration)
	}
	if f.DataLossKnown {
		head += ", data loss " + dataLoss(f.DataLoss.Duration)
	}
	fmt.Fprintln(w, head)
	if f.Waiting != "" {
		fmt.Fprintf(w, "  failover waits: %s\n", f.Waiting)
	}
	for _, n := range f.Notes {
		fmt.Fprintf(w, "  failover note: %s\n", n)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(f.Steps) > 0 {
		fmt.Fprintln(tw, "    STEP\tSTATE\tSTARTED\tDURATION\tDETAIL")
		for _, s := range f.Steps {
			started, took := "-", "-"
			if !s.StartedAt.IsZero() {
				started, took = s.StartedAt.UTC().Format("15:04:05"), s.Duration.Duration.Round(time.Millisecond).String()
			}
			detail := s.Note
			if s.Waiting != "" {
				detail = s.Waiting
			}
			if detail == "" && len(s.Volumes) > 0 {
				detail = plural(len(s.Volumes), "volume") + ": " + firstNames(s.Volumes, maxNames)
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", s.Name, s.State, started, took, detail)
			for _, g := range s.Gates {
				ready := "not ready"
				if g.Ready {
					ready = "ready"
				}
				if g.TimedOut {
					ready = "TIMED OUT"
				}
				fmt.Fprintf(tw, "      gate %s %s/%s\t%s\t\t\t%s\n", g.Kind, g.Namespace, g.Name, ready, g.Message)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(f.Volumes) > 0 {
		fmt.Fprintln(tw, "    VOLUME\tWAVE\tACTIVE\tRESTORED\tDATA LOSS")
		for i, v := range f.Volumes {
			if i == maxRows {
				active := 0
				for _, r := range f.Volumes[maxRows:] {
					if r.Active {
						active++
					}
				}
				fmt.Fprintf(tw, "    ... and %d more (%d active; drplan status -o json lists every volume)\n", len(f.Volumes)-maxRows, active)
				break
			}
			loss := "-"
			switch {
			case v.FinalBackup:
				loss = "none (final backup)"
			case v.DataLossKnown:
				loss = dataLoss(v.DataLoss.Duration)
			}
			fmt.Fprintf(tw, "    %s\t%s\t%t\t%s\t%s\n", v.Standby, v.Wave, v.Active, orDash(v.Restored), loss)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(f.Timeline) > 0 {
		fmt.Fprintln(w, "  failover timeline:")
		for _, e := range f.Timeline {
			fmt.Fprintf(w, "    %s  %s\n", e.At.UTC().Format("15:04:05.000"), e.Event)
		}
	}
	return nil
}

func dataLoss(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.Round(time.Second).String()
}

func short(d time.Duration) string {
	switch {
	case d < time.Second:
		return "0s"
	case d < time.Hour:
		return d.Truncate(time.Second).String()
	default:
		return d.Truncate(time.Minute).String()
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// At scale a table of every volume is unreadable: the tables show the first maxRows volumes and
// count the rest, a wave's detail names the first maxNames; -o json has them all.
const (
	maxRows  = 20
	maxNames = 5
)

// firstNames is "a, b, c and 7 more".
func firstNames(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// volumeStates counts volumes by state: "180 caught-up, 20 restoring".
func volumeStates(vs []planner.VolumeReport) string {
	n := map[planner.StandbyState]int{}
	var order []planner.StandbyState
	for _, v := range vs {
		if n[v.State] == 0 {
			order = append(order, v.State)
		}
		n[v.State]++
	}
	parts := make([]string, 0, len(order))
	for _, st := range order {
		parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
	}
	return strings.Join(parts, ", ")
}

// printObjects renders the plans' status objects: what a replica that does not lead, or the
// clusters themselves, tell.
func printObjects(w io.Writer, st status.Status, now time.Time) error {
	for _, p := range st.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	if st.ObjectsFrom == "" {
		_, err := fmt.Fprintln(w, "this agent replica does not lead and no status object could be read: no plan status")
		return err
	}
	fmt.Fprintf(w, "Plans repo %s: status objects in cluster %s (this replica does not lead; the leader wrote them)\n", st.Source.URL, st.ObjectsFrom)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAN\tPHASE\tREADY\tLAG\tRPO\tREVISION\tMESSAGE")
	for _, o := range st.Objects {
		ready, msg := "Unknown", ""
		for _, c := range o.Status.Conditions {
			if c.Type == "Ready" {
				ready, msg = string(c.Status), c.Message
			}
		}
		lag := "-"
		if t := o.Status.OldestRestoredAt; t != nil {
			lag = short(now.Sub(t.Time))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.Spec.Plan, orDash(o.Status.Phase), ready, lag, orDash(o.Spec.RPO),
			orDash(revision.Short(o.Status.Revision)), msg)
	}
	return tw.Flush()
}

// scheduleLine says how an agent-run schedule stands: its last run and the next.
func scheduleLine(sc *planner.ScheduleRun, now time.Time) string {
	last := "no run yet"
	if !sc.At.IsZero() {
		var waves []string
		for _, w := range sc.Waves {
			waves = append(waves, fmt.Sprintf("wave %s %s (%d backups)", w.Wave, w.Consistency, w.Backups))
		}
		last = fmt.Sprintf("last run %s ago: %s", short(now.Sub(sc.At)), strings.Join(waves, ", "))
		if sc.Error != "" {
			last += "; failed: " + sc.Error
		}
	}
	if !sc.Next.IsZero() {
		last += fmt.Sprintf("; next in %s", short(sc.Next.Sub(now)))
	}
	return last
}
