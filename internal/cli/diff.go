package cli

import "github.com/spf13/cobra"

func newDiffCommand() *cobra.Command {
	return pendingCommand("diff", "Print what the agent would change in each cluster (read-only)")
}
