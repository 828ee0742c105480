package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// With 200 protected volumes caught up, passes keep running (on the resync tick and on the
// cache events other scenarios cause) and make no API request at all: everything is read from
// the informer caches. The test counts the requests the agent sends to each cluster.
func TestSteadyStateMakesNoRequests(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east := lab.Clusters["east"]
	const n = 200
	names := make([]string, n)
	var eg errgroup.Group
	eg.SetLimit(16)
	for i := range names {
		names[i] = fmt.Sprintf("steady-%03d", i)
		eg.Go(func() error {
			sourceVolume(t, east, names[i], []byte(names[i]))
			return nil
		})
	}
	g.Expect(eg.Wait()).To(Succeed())

	var plan strings.Builder
	plan.WriteString(strings.Replace(planYAML("steady", "@every 1h", "90m"), "retain: 5}", "retain: 5, concurrency: 20}", 1))
	for _, name := range names {
		fmt.Fprintf(&plan, "    - {name: %s, replicas: 1}\n", name)
	}
	repo := newPlanRepo(t, lab, "steady")
	repo.commit(t, "protect 200 volumes", map[string]string{"steady.yaml": plan.String()})
	a := startAgent(t, lab, repo, agentOpts{resync: "1s", debug: true})

	// Every volume bound to the plan's job, then one run of the job backs them all up.
	g.Eventually(func(g Gomega) {
		var list longhorn.VolumeList
		g.Expect(east.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{"recurring-job.longhorn.io/drplan-steady": "enabled"})).To(Succeed())
		g.Expect(list.Items).To(HaveLen(n))
	}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
	backups, err := east.Sim.RunRecurringJob(ctx, "drplan-steady")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(backups).To(HaveLen(n))
	start := time.Now()
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans).To(HaveLen(1))
		caught, behind := 0, map[string]int{}
		for _, v := range st.Plans[0].Volumes {
			if v.State == planner.StandbyCaughtUp {
				caught++
			} else {
				behind[string(v.State)+": "+v.Reason]++
			}
		}
		g.Expect(caught).To(Equal(n), "not caught up: %v; waiting: %v", behind, st.Plans[0].Waiting)
		g.Expect(st.LastPass.Actions).To(BeZero())
	}).WithTimeout(4 * time.Minute).WithPolling(time.Second).Should(Succeed())
	t.Logf("%d standby volumes caught up %s after their backups", n, time.Since(start).Round(time.Second))

	read := func(series string) float64 {
		v, err := a.metricValue(series)
		g.Expect(err).NotTo(HaveOccurred())
		return v
	}
	counters := func() (passes, requests, watches float64) {
		for _, c := range []string{"east", "west"} {
			requests += read(`drplan_cluster_requests_total{cluster="` + c + `"}`)
			watches += read(`drplan_cluster_watches_total{cluster="` + c + `"}`)
		}
		return read("drplan_pass_duration_seconds_count"), requests, watches
	}
	passes0, requests0, watches0 := counters()
	from := time.Now()
	// Ten passes, however long a loaded machine takes to run them.
	g.Eventually(func() float64 {
		return read("drplan_pass_duration_seconds_count") - passes0
	}).WithTimeout(2*time.Minute).WithPolling(500*time.Millisecond).Should(BeNumerically(">=", 10), "passes must keep running")
	passes, requests, watches := counters()
	took := time.Since(from).Round(100 * time.Millisecond)
	// The caches' watch streams are not the passes' doing: the API server ends each every 5 to
	// 10 minutes and the cache opens it again. They are counted apart.
	t.Logf("steady state over %s: %v passes, %v requests to east and west, %v watch streams renewed",
		took, passes-passes0, requests-requests0, watches-watches0)
	g.Expect(requests-requests0).To(BeZero(), "requests in steady state:\n%s", strings.Join(a.apiRequests(from), "\n"))
}
