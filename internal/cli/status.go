package cli

import "github.com/spf13/cobra"

func newStatusCommand() *cobra.Command {
	return pendingCommand("status", "Show per-plan and per-volume DR status from a running agent")
}
