package backups

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/plans"
)

func TestScheduledName(t *testing.T) {
	g := NewWithT(t)
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	snap := ScheduledName("drplan-", "shop", "pg", at)
	g.Expect(snap).To(MatchRegexp(`^drplan-[0-9a-f]{16}$`))
	g.Expect(ScheduledName("drplan-", "shop", "pg", at)).To(Equal(snap), "a run repeated after a crash makes no second snapshot")
	g.Expect(ScheduledName("drplan-", "shop", "pg", at.Add(time.Minute))).NotTo(Equal(snap))
	g.Expect(ScheduledName("drplan-", "shop", "wal", at)).NotTo(Equal(snap))
	s := &Schedule{Namespace: "longhorn-system"}
	b := s.backup(testPlan(), &longhorn.Snapshot{Spec: longhorn.SnapshotSpec{Volume: "pg"}, ObjectMeta: objectMeta(snap)}, "application")
	g.Expect(longhorn.IsBackupName(b.Name)).To(BeTrue(), b.Name)
	g.Expect(b.Spec.SnapshotName).To(Equal(snap))
	g.Expect(b.Spec.Labels).To(HaveKeyWithValue("drplan.io/consistency", "application"))
	g.Expect(b.Labels).To(HaveKeyWithValue(longhorn.LabelBackupVolume, "pg"))
}

func TestOldest(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 12, 2, 10, m, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		items []int
		keep  int
		want  []int
	}{
		{name: "fewer than kept", items: []int{1, 2}, keep: 3, want: nil},
		{name: "as many as kept", items: []int{1, 2, 3}, keep: 3, want: nil},
		{name: "the oldest beyond keep, in any order", items: []int{4, 1, 5, 2, 3}, keep: 2, want: []int{3, 2, 1}},
		{name: "keep one", items: []int{7, 9, 8}, keep: 1, want: []int{8, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := oldest(tt.items, tt.keep, func(m int) time.Time { return at(m) })
			if tt.want == nil {
				g.Expect(got).To(BeEmpty())
				return
			}
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func objectMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

func testPlan() *plans.Plan {
	p := &plans.Plan{DRPlan: plans.DRPlan{Metadata: plans.Metadata{Name: "shop"},
		Spec: plans.Spec{Volumes: []plans.Volume{{Name: "pg"}}}}}
	plans.SetDefaults(&p.DRPlan)
	return p
}
