package cli

import "github.com/spf13/cobra"

func newSandboxCommand() *cobra.Command {
	return pendingCommand("sandbox", "Start two local clusters, a Gitea and the agent, all on loopback")
}
