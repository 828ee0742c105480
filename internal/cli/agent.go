package cli

import "github.com/spf13/cobra"

func newAgentCommand() *cobra.Command {
	return pendingCommand("agent", "Run the agent: pull the plans repo and drive both clusters")
}
