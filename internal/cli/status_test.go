package cli

import (
	"bytes"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/status"
)

// The permissions a cluster's credentials lack are listed under the cluster, with the role to fix.
func TestPrintStatusMissingPermissions(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	st := status.Status{Leading: true, UpdatedAt: now, Clusters: map[string]planner.ClusterReport{
		"east": {Reachable: true, Synced: true},
		"west": {Reachable: true, MissingPermissions: []string{
			"create volumes.longhorn.io in namespace longhorn-system",
			"list persistentvolumes cluster-wide",
		}},
	}}
	var out bytes.Buffer
	g.Expect(printStatus(&out, st, now)).To(Succeed())
	g.Expect(out.String()).To(ContainSubstring(`Cluster east: reachable
Cluster west: connecting
  MISSING PERMISSIONS: the agent's ClusterRole (examples/deploy/rbac.yaml or the Helm chart's) lacks:
    create volumes.longhorn.io in namespace longhorn-system
    list persistentvolumes cluster-wide
`))
}
