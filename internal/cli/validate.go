package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/plans/strictyaml"
)

// validateOptions are the flags of drplan validate.
type validateOptions struct {
	config       string
	output       string
	showDefaults bool
}

// BindFlags registers the options on fs.
func (o *validateOptions) BindFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&o.config, "config", "", "agent config file: validate it too, and check the plans' cluster names against it")
	fs.StringVarP(&o.output, "output", "o", "text", "output format: text (FILE:LINE:COL: FIELD: MESSAGE), json, or github (workflow annotations)")
	fs.BoolVar(&o.showDefaults, "show-defaults", false, "print the plans with every default applied, as YAML, each value the file left out marked '# default' (problems go to stderr)")
}

func newValidateCommand() *cobra.Command {
	o := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [--config agent.yaml] [PATH...]",
		Short: "Validate DRPlan files and print one problem per line",
		Long: `Validate loads every DRPlan in the given files and directories (default: the current
directory; directories are walked for *.yaml and *.yml, skipping those whose name starts with a
dot and Helm charts) and checks them together. It prints one problem per line as FILE:LINE:COL: FIELD: MESSAGE
and exits 1 if there is any, 0 otherwise. Documents of other kinds are ignored.`,
		Example: `  drplan validate .
  drplan validate --config agent.yaml plans/
  drplan validate -o json plans/ | jq '.problems[]'
  drplan validate --show-defaults plans/payments.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
		},
	}
	o.BindFlags(cmd)
	return cmd
}

// validateReport is the -o json output.
type validateReport struct {
	Valid    bool                 `json:"valid"`
	Plans    []validatedPlan      `json:"plans"`
	Problems []strictyaml.Problem `json:"problems"`
}

type validatedPlan struct {
	Name   string        `json:"name"`
	File   string        `json:"file"`
	Line   int           `json:"line"`
	Column int           `json:"column"`
	Valid  bool          `json:"valid"`
	Plan   *plans.DRPlan `json:"plan,omitempty"`
}

func (o *validateOptions) run(out, errOut io.Writer, paths []string) error {
	switch o.output {
	case "text", "json", "github":
	default:
		return fmt.Errorf("unknown output format %q: use text, json or github", o.output)
	}
	var problems []strictyaml.Problem
	var opts []plans.Option
	if o.config != "" {
		cfg, cfgProblems := config.Load(o.config)
		problems = append(problems, cfgProblems...)
		if cfg != nil {
			opts = append(opts, plans.WithClusters(cfg.ClusterNames()...))
		}
	}
	set, planProblems := plans.LoadPaths(paths, opts...)
	problems = strictyaml.Sorted(append(problems, planProblems...))

	var err error
	switch o.output {
	case "json":
		err = o.writeJSON(out, set, problems)
	case "github":
		err = writeGitHub(out, problems)
	default:
		err = o.writeText(out, errOut, set, problems)
	}
	if err != nil {
		return fmt.Errorf("write validation report: %w", err)
	}
	if len(problems) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

func (o *validateOptions) writeText(out, errOut io.Writer, set *plans.Set, problems []strictyaml.Problem) error {
	problemsOut := out
	if o.showDefaults {
		problemsOut = errOut
		for _, p := range set.Plans {
			doc, err := strictyaml.MarshalCommented(&p.DRPlan, defaultComment(p))
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(out, "---\n# %s:%d:%d\n%s", p.File, p.Start.Line, p.Start.Column, doc); err != nil {
				return err
			}
		}
	}
	for _, p := range problems {
		if _, err := fmt.Fprintln(problemsOut, p.String()); err != nil {
			return err
		}
	}
	valid := len(set.Valid())
	_, err := fmt.Fprintf(errOut, "%s (%d valid), %s\n", plural(len(set.Plans), "plan"), valid, plural(len(problems), "problem"))
	return err
}

// defaultComment marks the values of p that its file left out, which hold their defaults.
func defaultComment(p *plans.Plan) func(path string) string {
	return func(path string) string {
		if p.Written(path) {
			return ""
		}
		return "default"
	}
}

func (o *validateOptions) writeJSON(out io.Writer, set *plans.Set, problems []strictyaml.Problem) error {
	r := validateReport{Valid: len(problems) == 0, Plans: []validatedPlan{}, Problems: problems}
	if r.Problems == nil {
		r.Problems = []strictyaml.Problem{}
	}
	for _, p := range set.Plans {
		vp := validatedPlan{Name: p.Name(), File: p.File, Line: p.Start.Line, Column: p.Start.Column, Valid: p.Valid()}
		if o.showDefaults {
			vp.Plan = &p.DRPlan
		}
		r.Plans = append(r.Plans, vp)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeGitHub prints problems as GitHub Actions workflow commands, which show as annotations on
// the lines of the pull request's diff.
func writeGitHub(out io.Writer, problems []strictyaml.Problem) error {
	esc := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	escProp := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	for _, p := range problems {
		if _, err := fmt.Fprintf(out, "::error file=%s,line=%d,col=%d,title=%s::%s\n",
			escProp.Replace(p.File), p.Line, p.Column, escProp.Replace("drplan: "+p.Field), esc.Replace(p.Message)); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
