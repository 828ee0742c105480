package e2e

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	longhorn "github.com/drplan/drplan/internal/longhorn"
)

// Two replicas of the agent on the same plans repo: one leads (the lease is in the secondary),
// the other waits; when the leader dies without releasing the lease, the other takes over
// within the lease duration and goes on reconciling.
func TestTwoReplicas(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east := lab.Clusters["east"]
	sourceVolume(t, east, "ha-a", nil)
	sourceVolume(t, east, "ha-b", nil)
	repo := newPlanRepo(t, lab, "ha")
	repo.commit(t, "protect ha-a", map[string]string{"ha.yaml": planYAML("ha", "@every 1h", "90m", "ha-a")})
	replicas := []*agentProc{startAgent(t, lab, repo, agentOpts{}), startAgent(t, lab, repo, agentOpts{})}

	leaders := func() []int {
		var out []int
		for i, a := range replicas {
			if a.cmd == nil {
				continue
			}
			if st, err := a.getStatus(); err == nil && st.Leading {
				out = append(out, i)
			}
		}
		return out
	}
	bound := func(volume string) func(Gomega) {
		return func(g Gomega) {
			v := &longhorn.Volume{}
			g.Expect(east.Client.Get(ctx, key(volume), v)).To(Succeed())
			g.Expect(v.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-ha", "enabled"))
		}
	}
	g.Eventually(bound("ha-a")).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	g.Eventually(leaders).WithTimeout(30 * time.Second).WithPolling(poll).Should(HaveLen(1))
	g.Consistently(leaders).WithTimeout(3*time.Second).WithPolling(200*time.Millisecond).Should(HaveLen(1), "never two leaders")
	first := leaders()[0]
	other := 1 - first

	t.Log("the leader dies without releasing its lease")
	replicas[first].kill()
	killed := time.Now()
	g.Eventually(leaders).WithTimeout(30 * time.Second).WithPolling(poll).Should(Equal([]int{other}))
	t.Logf("replica %d took over %s after the leader died (lease 4s)", other, time.Since(killed).Round(100*time.Millisecond))
	repo.commit(t, "protect ha-b too", map[string]string{"ha.yaml": planYAML("ha", "@every 1h", "90m", "ha-a", "ha-b")})
	g.Eventually(bound("ha-b")).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
}
