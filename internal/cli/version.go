package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/drplan/drplan/internal/cli.Version=...".
var Version = "dev"

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the drplan version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			revision := ""
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" {
						revision = s.Value
					}
				}
			}
			if revision != "" {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "drplan %s (%s)\n", Version, revision)
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "drplan %s\n", Version)
			return err
		},
	}
}
