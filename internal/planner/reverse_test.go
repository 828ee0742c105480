package planner

import (
	"strings"
	"testing"
	"testing/fstest"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/plans"
)

// Standby names rotate over three names per volume: with the stale volumes deleted, any number
// of cycles east → west → east → west needs no more.
func TestReverseStandbyName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		old   string
		taken []string
		want  string
		err   string
	}{
		{"first failback: the root is the stale volume", "pg", []string{"pg"}, "pg-b", ""},
		{"the root free again (its stale volume deleted)", "pg-b", []string{"pg-b"}, "pg", ""},
		{"root and -b stale", "pg-b", []string{"pg", "pg-b"}, "pg-c", ""},
		{"all three taken", "pg-c", []string{"pg", "pg-b", "pg-c"}, "", "no free name for its standby volume (pg, pg-b, pg-c are all taken): delete the stale ones (spec.staleVolumes: Delete)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ReverseStandbyName(tc.old, func(n string) bool { return strings.Contains(" "+strings.Join(tc.taken, " ")+" ", " "+n+" ") })
			if tc.err != "" {
				g.Expect(err).To(MatchError(tc.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}

	// Cycles with the stale volumes deleted once replaced: every name is one of three.
	g := NewWithT(t)
	clusters := map[string]map[string]bool{"east": {"pg": true}, "west": {}}
	names := map[string]bool{}
	src, from, to := "pg", "east", "west"
	standby := "pg" // the first plan's default
	for range 8 {
		clusters[to][standby] = true // the standby, activated by the failover
		delete(clusters[from], src)  // the stale source, deleted (staleVolumes: Delete)
		names[standby] = true
		next, err := ReverseStandbyName(standby, func(n string) bool { return clusters[from][n] || n == src })
		g.Expect(err).NotTo(HaveOccurred())
		src, standby, from, to = standby, next, to, from
	}
	g.Expect(len(names)).To(BeNumerically("<=", 3), "names used: %v", names)
}

// The reversed plan swaps the clusters, turns the activated volumes into the sources, names
// the new standby volumes apart from the old primary's, and loads as a valid plan.
func TestReversedPlan(t *testing.T) {
	g := NewWithT(t)
	p := failoverPlan(func(d *plans.DRPlan) {
		d.Spec.Drill = &plans.Drill{ID: "q1", Namespace: "drill"}
	})
	east := fstate("east", sourceVolume("pg-data", nil), sourceVolume("pg-data-b", nil))
	r, err := ReversedPlan(p, east)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect([]string{r.Spec.Primary, r.Spec.Secondary}).To(Equal([]string{"west", "east"}))
	g.Expect(r.Spec.Failover).To(BeFalse())
	g.Expect(r.Spec.Drill).To(BeNil())
	g.Expect(r.Spec.Volumes[0].Name).To(Equal("pg-data"))
	g.Expect(r.Spec.Volumes[0].StandbyName).To(Equal("pg-data-c"), "pg-data and pg-data-b are taken in east")
	g.Expect(r.Spec.Volumes[1].StandbyName).To(Equal("pg-wal-b"))
	g.Expect(p.Spec.Primary).To(Equal("east"), "the plan itself is untouched")
	g.Expect(p.Spec.Volumes[0].StandbyName).To(Equal("pg-data"))

	doc, err := plans.Marshal(r)
	g.Expect(err).NotTo(HaveOccurred())
	set, problems := plans.LoadFS(fstest.MapFS{"payments.yaml": {Data: doc}}, ".")
	g.Expect(problems).To(BeEmpty())
	g.Expect(set.Plans).To(HaveLen(1))
	g.Expect(set.Plans[0].Problems).To(BeEmpty(), "%s", doc)
	got := set.Plans[0].Spec
	g.Expect(got.Volumes[0].PV.Name).To(Equal("pg-data-c"), "the PersistentVolume is named after the new standby")
	g.Expect(got.Volumes[0].PVC.Namespace).To(Equal("prod"))
	g.Expect(got.Waves).To(HaveLen(2))
}
