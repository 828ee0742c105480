package e2e

import (
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// TestDRCycle: the whole cycle of a three-wave plan. east → west by a planned switchover; the
// agent then opens a pull request with the plan reversed (west primary, east secondary, new
// standby names in east); merged, it protects west's activated volumes (recurring backups in
// west, standby volumes in east restoring them) while east's old volumes are kept, labelled
// stale and untouched; flipping the reversed plan's failover is the failback, a planned
// switchover back with no data lost: east's volumes end with exactly the data written on west
// before the failback. No volume is deleted on the way.
func TestDRCycle(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := threeWavePlan("cy")
	data := protectForFailover(t, lab, east, west, p, agentOpts{forge: true})
	repo, a := data.repo, data.agent
	api, err := lab.Gitea.Client(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	owner := lab.Gitea.Admin

	t.Log("1. failover east → west (planned)")
	go playKubelet(ctx, east, p)
	p.failover = true
	repo.commit(t, "fail over cy to west", map[string]string{"cy.yaml": p.yaml()})
	waitFailoverDone(t, west, p.name, 3*time.Minute)
	// The workloads west scaled up attach their volumes, as kubelet would (a recurring backup
	// skips detached volumes).
	for _, v := range p.volumes {
		g.Expect(west.Sim.Attach(ctx, v.name)).To(Succeed())
	}
	eastStale := map[string][]byte{}
	for _, v := range p.volumes {
		eastStale[v.name], err = east.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
	}

	t.Log("2. the agent proposes the reversed plan as a pull request of its own")
	var pr *gitea.PullRequest
	g.Eventually(func(g Gomega) {
		prs, _, err := api.ListRepoPullRequests(owner, repo.Name, gitea.ListPullRequestsOptions{State: gitea.StateOpen})
		g.Expect(err).NotTo(HaveOccurred())
		for _, x := range prs {
			if x.Head != nil && x.Head.Ref == "drplan/reverse-cy" {
				pr = x
			}
		}
		g.Expect(pr).NotTo(BeNil())
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	g.Expect(pr.Title).To(Equal("drplan: protect cy again, west → east"))
	g.Expect(pr.Body).To(ContainSubstring("nothing protects them"))
	raw, _, err := api.GetFile(owner, repo.Name, "drplan/reverse-cy", "cy.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	reversed := string(raw)
	for _, want := range []string{"primary: west", "secondary: east", "failover: false", "standbyName: cy-db-b", "standbyName: cy-queue-b", "standbyName: cy-app-b"} {
		g.Expect(reversed).To(ContainSubstring(want))
	}
	g.Expect(reversed).NotTo(ContainSubstring("backupTarget"), "the plan as the team wrote it, edited: defaults are not spelled out")
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].Lifecycle).To(Equal(planner.LifecycleFailedOver))
		g.Expect(st.Plans[0].ReversePullRequest).To(Equal(pr.HTMLURL))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(strings.Join(agentComments(t, api, owner, repo.Name, pr.Index), "\n")).To(ContainSubstring("kind=preview"))
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())

	t.Log("3. west is written to, then the pull request is merged: west protected, east standby")
	westData := map[string][]byte{}
	for _, v := range p.volumes {
		westData[v.name] = randomBytes(t, 2*64<<10)
		g.Expect(west.Sim.WriteVolume(ctx, v.name, 0, westData[v.name])).To(Succeed())
	}
	_, _, err = api.MergePullRequest(owner, repo.Name, pr.Index, gitea.MergePullRequestOption{Style: gitea.MergeStyleMerge})
	g.Expect(err).NotTo(HaveOccurred())
	runPlanJob(t, west, p)
	for _, v := range p.volumes {
		waitStandbyRestored(t, east, v.name+"-b", westData[v.name], 2*time.Minute)
	}
	g.Eventually(func(g Gomega) {
		for _, v := range p.volumes {
			old := &longhorn.Volume{}
			g.Expect(east.Client.Get(ctx, key(v.name), old)).To(Succeed())
			g.Expect(old.Labels).To(HaveKeyWithValue(planner.LabelStale, "true"))
		}
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].Lifecycle).To(Equal(planner.LifecycleProtectingReversed))
		g.Expect(st.Plans[0].Stale).To(ConsistOf("cy-db", "cy-queue", "cy-app"))
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())

	t.Log("4. failback: the reversed plan's failover, a planned switchover back to east")
	for _, v := range p.volumes {
		westData[v.name] = randomBytes(t, 64<<10) // written after the last scheduled backup
		g.Expect(west.Sim.WriteVolume(ctx, v.name, 64<<10, westData[v.name])).To(Succeed())
	}
	go playKubelet(ctx, west, p)
	// The team's own claim of the plan's name in east, left from before the first failover and
	// bound to the stale volume: the failback must not bring the database up on it.
	g.Expect(client.IgnoreAlreadyExists(east.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cy"}}))).To(Succeed())
	teamClaim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "cy", Name: "data-db-0", Labels: map[string]string{"app": "db"}},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, VolumeName: "cy-db",
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	g.Expect(east.Client.Create(ctx, teamClaim)).To(Succeed())
	repo.pull(t)
	repo.commit(t, "fail cy back to east", map[string]string{"cy.yaml": strings.Replace(reversed, "failover: false", "failover: true", 1)})
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].FailoverStatus).NotTo(BeNil())
		g.Expect(st.Plans[0].FailoverStatus.Waiting).To(ContainSubstring(
			`wave db: PersistentVolumeClaim cy/data-db-0 exists in cluster east and drplan did not create it (bound to "cy-db")`))
		g.Expect(st.Plans[0].FailoverStatus.Phase).To(Equal(planner.FailoverStalled), "a person must act")
	}).WithTimeout(3 * time.Minute).WithPolling(poll).Should(Succeed())
	g.Expect(east.Client.Get(ctx, client.ObjectKeyFromObject(teamClaim), teamClaim)).To(Succeed())
	g.Expect(teamClaim.Labels).To(Equal(map[string]string{"app": "db"}), "drplan does not touch the team's claim")
	g.Expect(teamClaim.Spec.VolumeName).To(Equal("cy-db"))
	for _, w := range p.waves {
		obj := workload(p.name, w.workload, 0)
		g.Expect(east.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		g.Expect(specReplicas(obj)).To(BeZero(), "nothing is scaled up in east while the claim is the team's")
	}
	t.Log("the team deletes its claim (a controller lifts its protection finalizer): the failback goes on")
	g.Expect(east.Client.Delete(ctx, teamClaim)).To(Succeed())
	g.Expect(client.IgnoreNotFound(east.Client.Patch(ctx, teamClaim, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))))).To(Succeed())
	rec := waitFailoverDone(t, east, p.name, 3*time.Minute)
	claim := &corev1.PersistentVolumeClaim{}
	g.Expect(east.Client.Get(ctx, client.ObjectKey{Namespace: "cy", Name: "data-db-0"}, claim)).To(Succeed())
	g.Expect(claim.Spec.VolumeName).NotTo(Equal("cy-db"), "drplan's claim, on the volume that holds west's data")
	g.Expect(claim.Labels).To(HaveKeyWithValue(planner.LabelManagedBy, planner.ManagedByValue))
	g.Expect(rec.Planned).To(BeTrue())
	g.Expect([]string{rec.Primary, rec.Secondary}).To(Equal([]string{"west", "east"}))

	t.Log("east holds exactly west's last data; nothing was deleted")
	for _, v := range p.volumes {
		want, err := west.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		got, err := east.Sim.ReadVolume(ctx, v.name+"-b")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want), "volume %s-b in east holds west's last data", v.name)
		vol := &longhorn.Volume{}
		g.Expect(east.Client.Get(ctx, key(v.name+"-b"), vol)).To(Succeed())
		g.Expect(vol.Spec.Standby).To(BeFalse(), "%s-b is active", v.name)
		stale, err := east.Sim.ReadVolume(ctx, v.name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(stale).To(Equal(eastStale[v.name]), "east's stale %s is kept as it was", v.name)
		for _, c := range []string{"east", "west"} {
			err := lab.Clusters[c].Client.Get(ctx, key(v.name), &longhorn.Volume{})
			g.Expect(apierrors.IsNotFound(err)).To(BeFalse(), "volume %s in %s still exists", v.name, c)
		}
	}
	fs := waitFailoverStatus(t, a, planner.FailoverComplete)
	g.Expect(fs.DataLossKnown).To(BeTrue())
	g.Expect(fs.DataLoss.Duration).To(BeZero())

	t.Log("the next reversal is proposed in turn, with names from the same bounded set")
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].ReversePullRequest).NotTo(BeEmpty())
		g.Expect(st.Plans[0].ReversePullRequest).NotTo(Equal(pr.HTMLURL), "a pull request of its own for this failover")
	}).WithTimeout(time.Minute).WithPolling(poll).Should(Succeed())
	raw, _, err = api.GetFile(owner, repo.Name, "drplan/reverse-cy", "cy.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	for _, want := range []string{"primary: east", "secondary: west", "name: cy-db-b", "standbyName: cy-db-b"} {
		g.Expect(string(raw)).To(ContainSubstring(want), "west's stale cy-db keeps its name; the new standby takes cy-db-b")
	}
	out, code := runCLI(t, "status", "--config", a.config)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("[failed-over]"))
	t.Logf("drplan status after the failback:\n%s", out)
}
