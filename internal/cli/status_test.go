package cli

import (
	"bytes"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// A plan's stage in the DR cycle is on its head line; a drill shows what a failover would take,
// each step's time and each volume's data-loss window.
func TestPrintStatusDrill(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	d := &planner.DrillReport{ID: "q4", Namespace: "drill", Phase: planner.DrillSucceeded, FinishedAt: now.Add(-time.Minute),
		KeepUntil: now.Add(59 * time.Minute), RTO: metav1.Duration{Duration: 95 * time.Second},
		DataLoss: metav1.Duration{Duration: 7 * time.Minute}, DataLossKnown: true,
		Steps: []planner.FailoverStepReport{
			{Name: planner.StepPrepare, State: planner.StepDone, Duration: metav1.Duration{Duration: 3 * time.Minute}, Note: "2 drill copies restored"},
			{Name: "wave/db", Wave: "db", State: planner.StepDone, Duration: metav1.Duration{Duration: 95 * time.Second}},
		},
		Volumes: []planner.FailoverVolumeReport{{Name: "pg", Standby: "pg-drill", Restored: "backup-1", DataLoss: metav1.Duration{Duration: 7 * time.Minute}, DataLossKnown: true}},
	}
	st := status.Status{Leading: true, UpdatedAt: now, Plans: []planner.PlanReport{
		{Name: "shop", Primary: "east", Secondary: "west", Lifecycle: planner.LifecycleDrilling, Drill: d},
	}}
	var out bytes.Buffer
	g.Expect(printStatus(&out, st, now)).To(Succeed())
	g.Expect(out.String()).To(ContainSubstring("Plan shop: east -> west  [drilling]\n" +
		"  drill q4 in namespace drill: succeeded: a failover would take 1m35s after catch-up and lose up to 7m0s of writes; torn down in 59m0s\n"))
	g.Expect(out.String()).To(MatchRegexp(`wave/db +done +1m35s`))
	g.Expect(out.String()).To(MatchRegexp(`pg +pg-drill +backup-1 +7m0s`))
}
