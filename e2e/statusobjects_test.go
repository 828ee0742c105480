package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	longhorn "github.com/drplan/drplan/internal/longhorn"
)

// The plans' status objects, as a runbook uses them: kubectl get and kubectl wait on Ready in
// the secondary, drplan status from a replica that does not lead, drplan reconcile for a pass
// now; and a suspended plan changes nothing in either cluster until resumed.
func TestStatusObjectsAndSuspend(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	sourceVolume(t, east, "sto-a", randomBytes(t, 64<<10))
	sourceVolume(t, east, "sto-b", randomBytes(t, 64<<10))
	repo := newPlanRepo(t, lab, "statusobjects")
	plan := func(extra string, vols ...string) string {
		return strings.Replace(planYAML("sto", "@every 1h", "2h", vols...), "  rpo: 2h\n", "  rpo: 2h\n"+extra, 1)
	}
	repo.commit(t, "protect sto-a", map[string]string{"sto.yaml": plan("", "sto-a")})
	a := startAgent(t, lab, repo, agentOpts{})
	b := startAgent(t, lab, repo, agentOpts{})
	leader := waitLeader(t, []*agentProc{a, b})
	follower := a
	if leader == a {
		follower = b
	}
	g.Eventually(func(g Gomega) {
		src := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("sto-a"), src)).To(Succeed())
		g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-sto", "enabled"))
		_, err := east.Sim.RunRecurringJob(ctx, "drplan-sto")
		g.Expect(err).NotTo(HaveOccurred())
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	NewWithT(t).Eventually(func(g Gomega) {
		v := &longhorn.Volume{}
		g.Expect(west.Client.Get(ctx, key("sto-a"), v)).To(Succeed())
		g.Expect(v.Status.LastBackup).NotTo(BeEmpty())
	}).WithTimeout(3 * time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())

	kubectl := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", west.API.Kubeconfig, "-n", ns}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Log("kubectl waits for the object and for Ready, and lists the plan as Protected")
	out, err := kubectl("wait", "--for=create", "--timeout=90s", "drplanstatus/sto")
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectl("wait", "--for=condition=Ready", "--timeout=90s", "drplanstatus/sto")
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectl("get", "drplanstatuses")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(MatchRegexp(`(?m)^NAME\s+PLAN\s+PHASE\s+LIFECYCLE\s+LAG\s+RPO\s+REVISION\s+READY\s+AGE`))
	g.Expect(out).To(MatchRegexp(`(?m)^sto\s+sto\s+Protected\s+protecting\s+\S+\s+2h0m0s\s+[0-9a-f]{40}\s+True`))
	t.Logf("kubectl get drplanstatuses:\n%s", out)

	t.Log("the replica that does not lead serves the same plans, from the status objects")
	st, code := runCLI(t, "status", "--address", follower.status)
	g.Expect(code).To(Equal(0))
	g.Expect(st).To(MatchRegexp(`(?m)^sto\s+Protected\s+True\s`))

	t.Log("suspended: a new volume and failover: true change nothing in either cluster")
	sha := repo.commit(t, "suspend, then change", map[string]string{"sto.yaml": plan("  suspend: true\n  failover: true\n", "sto-a", "sto-b")})
	out, code = runCLI(t, "reconcile", "--address", leader.status)
	g.Expect(code).To(Equal(0), out)
	g.Expect(out).To(ContainSubstring("reconciled revision " + sha[:12]))
	out, err = kubectl("wait", "--for=jsonpath={.status.phase}=Suspended", "--timeout=60s", "drplanstatus/sto")
	g.Expect(err).NotTo(HaveOccurred(), out)
	_, code = runCLI(t, "reconcile", "--address", leader.status)
	g.Expect(code).To(Equal(0))
	g.Consistently(func(g Gomega) {
		src := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("sto-b"), src)).To(Succeed())
		g.Expect(src.Labels).NotTo(HaveKey("recurring-job.longhorn.io/drplan-sto"), "the new volume is not bound")
		g.Expect(west.Client.Get(ctx, key("sto-b"), &longhorn.Volume{})).NotTo(Succeed(), "no standby volume for it")
		sb := &longhorn.Volume{}
		g.Expect(west.Client.Get(ctx, key("sto-a"), sb)).To(Succeed())
		g.Expect(sb.Spec.Standby).To(BeTrue(), "no failover")
		_, err := readRecord(ctx, west, "sto")
		g.Expect(err).To(HaveOccurred(), "no failover record")
	}).WithTimeout(5 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	stat, err := leader.getStatus()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stat.Plans).To(ContainElement(And(
		HaveField("Name", "sto"), HaveField("Suspended", true))))

	t.Log("resumed (failover back to false): the new volume is protected")
	repo.commit(t, "resume", map[string]string{"sto.yaml": plan("", "sto-a", "sto-b")})
	g.Eventually(func(g Gomega) {
		src := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key("sto-b"), src)).To(Succeed())
		g.Expect(src.Labels).To(HaveKeyWithValue("recurring-job.longhorn.io/drplan-sto", "enabled"))
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
}
