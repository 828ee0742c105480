package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// ExitError carries a process exit code out of a subcommand without printing anything more.
// drplan validate exits 1 on problems and drplan diff exits 2 on changes; neither is a failure
// of the command itself.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// NewRootCommand builds the drplan command tree writing to out and errOut.
func NewRootCommand(out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "drplan",
		Short:         "GitOps disaster recovery for Longhorn volumes across two Kubernetes clusters",
		Long:          "drplan keeps DRPlan YAML from a Git repository true in a primary and a secondary cluster:\nrecurring backups on the primary, standby volumes on the secondary, and failover by a Git commit.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(
		newAgentCommand(),
		newValidateCommand(),
		newDiffCommand(),
		newStatusCommand(),
		newReconcileCommand(),
		newSandboxCommand(),
		newVersionCommand(),
	)
	return root
}

// Execute runs the command tree on args and returns the process exit code.
func Execute(args []string, out, errOut io.Writer) int {
	root := NewRootCommand(out, errOut)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	if exitErr, ok := errors.AsType[*ExitError](err); ok {
		return exitErr.Code
	}
	fmt.Fprintf(errOut, "drplan: %v\n", err)
	return 1
}
