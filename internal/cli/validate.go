package cli

import "github.com/spf13/cobra"

func newValidateCommand() *cobra.Command {
	return pendingCommand("validate", "Validate DRPlan files and print one problem per line")
}
