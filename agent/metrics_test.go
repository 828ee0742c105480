package agent

import (
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/status"
)

// Every drplan_* series the agent serves is in docs/operations.md, with its labels, and the
// page names no series the agent does not serve.
func TestMetricsDocumented(t *testing.T) {
	g := NewWithT(t)
	doc, err := os.ReadFile("../docs/operations.md")
	g.Expect(err).NotTo(HaveOccurred())

	// A row of the metrics table: | `name` | type | `label`, `label` | help |
	row := regexp.MustCompile("(?m)^\\| `(drplan_[a-z_]+)` \\| [a-z]+ \\| ([^|]*)\\|")
	documented := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = regexp.MustCompile("`([a-z_]+)`").FindAllString(m[2], -1)
	}

	served := map[string][]string{}
	for name, labels := range metricSeries() {
		for i, l := range labels {
			labels[i] = "`" + l + "`"
		}
		served[name] = labels
	}
	g.Expect(served).NotTo(BeEmpty())
	for name, labels := range served {
		g.Expect(documented).To(HaveKey(name), "docs/operations.md lacks %s", name)
		slices.Sort(labels)
		got := slices.Sorted(slices.Values(documented[name]))
		g.Expect(got).To(Equal(labels), "labels of %s", name)
	}
	for name := range documented {
		g.Expect(served).To(HaveKey(name), "docs/operations.md names %s, which the agent does not serve", name)
	}
}

// drplan_failover_phase is 1 for the phase each plan's failover is in, pass after pass: the
// phase left behind disappears, and a plan without a failover has no series.
func TestFailoverPhaseSeries(t *testing.T) {
	m := newMetrics(&Agent{})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.failoverPhase)
	failover := func(plan string, phase planner.FailoverPhase) planner.PlanReport {
		return planner.PlanReport{Name: plan, Failover: true, FailoverStatus: &planner.FailoverReport{Phase: phase}}
	}
	passes := []struct {
		name  string
		plans []planner.PlanReport
		want  []string // plan=phase of each series at 1
	}{
		{name: "no failover", plans: []planner.PlanReport{{Name: "db"}}},
		{name: "running", plans: []planner.PlanReport{{Name: "db"}, failover("shop", planner.FailoverRunning)}, want: []string{"shop=running"}},
		{name: "stalled", plans: []planner.PlanReport{{Name: "db"}, failover("shop", planner.FailoverStalled)}, want: []string{"shop=stalled"}},
		{name: "two plans", plans: []planner.PlanReport{failover("db", planner.FailoverBlocked), failover("shop", planner.FailoverComplete)},
			want: []string{"db=blocked", "shop=complete"}},
		{name: "plans gone"},
	}
	for _, p := range passes {
		t.Run(p.name, func(t *testing.T) {
			g := NewWithT(t)
			m.observe(status.Status{Plans: p.plans}, nil, time.Second)
			mfs, err := reg.Gather()
			g.Expect(err).NotTo(HaveOccurred())
			var got []string
			for _, mf := range mfs {
				for _, s := range mf.GetMetric() {
					g.Expect(s.GetGauge().GetValue()).To(Equal(1.0))
					l := map[string]string{}
					for _, lp := range s.GetLabel() {
						l[lp.GetName()] = lp.GetValue()
					}
					got = append(got, l["plan"]+"="+l["phase"])
				}
			}
			g.Expect(got).To(Equal(p.want))
		})
	}
}
