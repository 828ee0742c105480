package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionString(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{"no build info", "dev", nil, "drplan dev"},
		{"stamped by make build", "v0.3.0-4-gabc", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("abc123", "false")}, "drplan v0.3.0-4-gabc (abc123)"},
		{"go install @v1.2.3", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "drplan v1.2.3"},
		{"stamped wins over the module version", "v2.0.0", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "drplan v2.0.0"},
		{"a local build of a modified tree", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("abc123", "true")}, "drplan dev (abc123, modified)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionString(tc.stamped, tc.info); got != tc.want {
				t.Errorf("versionString = %q, want %q", got, tc.want)
			}
		})
	}
}
