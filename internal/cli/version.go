package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/drplan/drplan/internal/cli.Version=..."
// (make build and the Dockerfile do); a `go install ...@vX` build has its module version in the
// build info instead.
var Version = "dev"

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the drplan version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, _ := debug.ReadBuildInfo()
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionString(Version, info))
			return err
		},
	}
}

// versionString is "drplan VERSION (REVISION)": the version stamped at build time, else the
// module version go install recorded; the VCS revision when the build recorded one, marked
// dirty when the tree was modified.
func versionString(stamped string, info *debug.BuildInfo) string {
	version, revision, dirty := stamped, "", false
	if info != nil {
		if (version == "" || version == "dev") && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	switch {
	case revision == "":
		return "drplan " + version
	case dirty:
		return fmt.Sprintf("drplan %s (%s, modified)", version, revision)
	}
	return fmt.Sprintf("drplan %s (%s)", version, revision)
}
