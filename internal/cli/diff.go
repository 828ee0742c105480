package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/drplan/drplan/agent"
	"github.com/drplan/drplan/internal/planner"
)

type diffOptions struct {
	config   string
	plansDir string
	revision string
	output   string
}

func newDiffCommand() *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff --config agent.yaml [--plans DIR | --revision REV]",
		Short: "Print what the agent would change in each cluster (read-only)",
		Long: `Diff loads the plans (from a local directory, a revision of the plans repo, or the tracked ref),
reads both clusters of every plan, and prints per cluster what the agent would change. It changes
nothing. It exits 0 when nothing would change, 2 when something would, 1 on error or when a plan
is invalid.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.config == "" {
				return fmt.Errorf("--config is required")
			}
			if o.plansDir != "" && o.revision != "" {
				return fmt.Errorf("--plans and --revision exclude each other")
			}
			cfg, err := agent.LoadConfig(o.config)
			if err != nil {
				return err
			}
			res, err := agent.Diff(cmd.Context(), cfg, agent.DiffOptions{PlansDir: o.plansDir, Revision: o.revision})
			if err != nil {
				return err
			}
			if o.output == "json" {
				if err := printDiffJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else if err := printDiff(cmd.OutOrStdout(), res); err != nil {
				return err
			}
			switch {
			case len(res.Problems) > 0:
				return &ExitError{Code: 1}
			case len(res.Result.Actions) > 0:
				return &ExitError{Code: 2}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.config, "config", "", "agent config file (clusters, plans repo)")
	cmd.Flags().StringVar(&o.plansDir, "plans", "", "diff the plans in this local directory instead of the plans repo")
	cmd.Flags().StringVar(&o.revision, "revision", "", "diff the plans repo at this commit instead of the tracked ref")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func printDiff(w io.Writer, res *agent.DiffResult) error {
	for _, p := range res.Problems {
		fmt.Fprintln(w, p.String())
	}
	byCluster := map[string][]planner.Action{}
	for _, a := range res.Result.Actions {
		byCluster[a.Cluster()] = append(byCluster[a.Cluster()], a)
	}
	names := make([]string, 0, len(res.Result.Report.Clusters))
	for n := range res.Result.Report.Clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := res.Result.Report.Clusters[n]
		switch {
		case !c.Reachable:
			fmt.Fprintf(w, "cluster %s: unreachable (%s): not compared\n", n, c.Error)
			continue
		case !c.Synced:
			fmt.Fprintf(w, "cluster %s: not read in time: not compared\n", n)
			continue
		}
		acts := byCluster[n]
		if len(acts) == 0 {
			fmt.Fprintf(w, "cluster %s: no changes\n", n)
			continue
		}
		fmt.Fprintf(w, "cluster %s: %d change(s)\n", n, len(acts))
		for _, a := range acts {
			fmt.Fprintf(w, "  [%s] %s\n", a.Plan(), a.String())
		}
	}
	for _, p := range res.Result.Report.Plans {
		if p.Invalid {
			continue // its problems are printed above, with their places
		}
		for _, wt := range p.Waiting {
			fmt.Fprintf(w, "plan %s waits: %s\n", p.Name, wt)
		}
		for _, pr := range p.Problems {
			fmt.Fprintf(w, "plan %s problem: %s\n", p.Name, pr)
		}
	}
	return nil
}

type diffJSON struct {
	Revision string           `json:"revision,omitempty"`
	Problems []string         `json:"problems"`
	Changes  []diffJSONChange `json:"changes"`
	Report   planner.Report   `json:"report"`
}

type diffJSONChange struct {
	Cluster string `json:"cluster"`
	Plan    string `json:"plan"`
	Change  string `json:"change"`
}

func printDiffJSON(w io.Writer, res *agent.DiffResult) error {
	out := diffJSON{Revision: res.Revision, Problems: []string{}, Changes: []diffJSONChange{}, Report: res.Result.Report}
	for _, p := range res.Problems {
		out.Problems = append(out.Problems, p.String())
	}
	for _, a := range res.Result.Actions {
		out.Changes = append(out.Changes, diffJSONChange{Cluster: a.Cluster(), Plan: a.Plan(), Change: a.String()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
