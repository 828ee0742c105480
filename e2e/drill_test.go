package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// TestDrillThreeWaves: a drill of a three-wave plan, asked for by a commit. The agent restores
// a drill copy of each standby volume from the backup the standby restored, brings the waves up
// in the drill's namespace in order (copies of the workloads scaled, their gates ready), reports
// the RTO and each volume's data-loss window, and after keepFor deletes everything the drill
// created. Throughout, from the commit until the teardown is recorded, nothing of the primary
// and nothing of the standby volumes changes (watched every 250ms and compared at the end).
func TestDrillThreeWaves(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := threeWavePlan("dr")
	p.waves[0].extra = "      apply: {path: dr-manifests/db, timeout: 5m}\n"
	p.files = map[string]string{"dr-manifests/db/all.yaml": drManifests}
	grantDrillManifests(t, west)
	data := protectForFailover(t, lab, east, west, p)
	repo, a := data.repo, data.agent

	before, err := protectedState(ctx, east, west, p)
	g.Expect(err).NotTo(HaveOccurred())
	watch := watchProtected(t, east, west, p, before)

	p.tail = "  drill: {id: q1, namespace: dr-drill, keepFor: 15s}\n"
	start := time.Now()
	repo.commit(t, "drill dr", map[string]string{"dr.yaml": p.yaml()})

	t.Log("the drill finishes: prepare, then the three waves in order")
	var rec *planner.FailoverRecord
	g.Eventually(func(g Gomega) {
		r, err := readDrillRecord(ctx, west, p.name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.FinishedAt.IsZero()).To(BeFalse(), "steps so far: %+v", r.Steps)
		rec = r
	}).WithTimeout(2 * time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
	t.Logf("drill done %s after the commit", time.Since(start).Round(time.Millisecond))
	g.Expect(rec.Failed).To(BeFalse(), "steps: %+v", rec.Steps)
	names := []string{planner.StepPrepare}
	for _, w := range p.waves {
		names = append(names, planner.WaveStep(w.name))
	}
	g.Expect(stepNames(rec)).To(Equal(names))
	for i := 1; i < len(rec.Steps); i++ {
		g.Expect(rec.Steps[i].StartedAt).NotTo(BeTemporally("<", rec.Steps[i-1].FinishedAt), "%s starts after %s", rec.Steps[i].Name, rec.Steps[i-1].Name)
	}

	t.Log("the waves ran in the drill's namespace, on drill copies holding the restored data")
	for _, v := range p.volumes {
		copyName := planner.DrillVolumeName(v.name)
		got, err := west.Sim.ReadVolume(ctx, copyName)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(data.data[v.name]), "drill copy %s holds the data the standby restored", copyName)
		vol := &longhorn.Volume{}
		g.Expect(west.Client.Get(ctx, key(copyName), vol)).To(Succeed())
		g.Expect(vol.Spec.Standby).To(BeFalse())
		g.Expect(vol.Labels).To(HaveKeyWithValue(planner.LabelDrill, "q1"))
		if v.pvcName != "" {
			pvc := &corev1.PersistentVolumeClaim{}
			g.Expect(west.Client.Get(ctx, client.ObjectKey{Namespace: "dr-drill", Name: v.pvcName}, pvc)).To(Succeed())
			g.Expect(pvc.Spec.VolumeName).To(Equal(planner.DrillPVName("dr-drill", v.name)), "claim %s", v.pvcName)
		}
	}
	for _, w := range p.waves {
		obj := workload("dr-drill", w.workload, 0)
		g.Expect(west.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		g.Expect(specReplicas(obj)).To(Equal(w.workload.replicas), "the drill's copy of %s is scaled", w.workload.name)
		g.Expect(obj.GetLabels()).To(HaveKeyWithValue(planner.LabelDrill, "q1"))
		orig := workload(p.name, w.workload, 0)
		g.Expect(west.Client.Get(ctx, client.ObjectKeyFromObject(orig), orig)).To(Succeed())
		g.Expect(specReplicas(orig)).To(BeZero(), "the plan's own %s in west stays at zero", w.workload.name)
	}

	t.Log("the wave's namespaced manifests were applied in the drill's namespace; nothing cluster-scoped, whatever its kind")
	settings := &corev1.ConfigMap{}
	g.Expect(west.Client.Get(ctx, client.ObjectKey{Namespace: "dr-drill", Name: "db-settings"}, settings)).To(Succeed())
	g.Expect(settings.Labels).To(HaveKeyWithValue(planner.LabelDrill, "q1"))
	g.Expect(settings.Data).To(HaveKeyWithValue("mode", "drill-me"))
	g.Expect(apierrors.IsNotFound(west.Client.Get(ctx, client.ObjectKey{Namespace: "dr", Name: "db-settings"}, &corev1.ConfigMap{}))).To(BeTrue(),
		"the manifest's own namespace is not written")
	g.Expect(apierrors.IsNotFound(west.Client.Get(ctx, client.ObjectKey{Name: "dr-tools"}, &corev1.Namespace{}))).To(BeTrue(), "a Namespace is cluster-scoped")
	probe := &unstructured.Unstructured{}
	probe.SetAPIVersion("drill.example.com/v1")
	probe.SetKind("Probe")
	g.Expect(apierrors.IsNotFound(west.Client.Get(ctx, client.ObjectKey{Name: "dr-probe"}, probe))).To(BeTrue(),
		"a custom resource of a cluster-scoped CRD is not applied (the API server's discovery says so)")

	t.Log("status reports what a failover would take and lose")
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		d := st.Plans[0].Drill
		g.Expect(d).NotTo(BeNil())
		g.Expect(d.Phase).To(Equal(planner.DrillSucceeded))
		g.Expect(d.RTO.Duration).To(BeNumerically(">", 0))
		g.Expect(d.RTO.Duration).To(Equal(rec.FinishedAt.Sub(stepOf(rec, planner.StepPrepare).FinishedAt)))
		g.Expect(d.DataLossKnown).To(BeTrue())
		g.Expect(d.Volumes).To(HaveLen(len(p.volumes)))
		for _, v := range d.Volumes {
			g.Expect(v.DataLossKnown).To(BeTrue(), v.Name)
			g.Expect(v.DataLoss.Duration).To(BeNumerically(">", 0), v.Name)
		}
		g.Expect(st.Plans[0].Lifecycle).To(Equal(planner.LifecycleDrilling))
		g.Expect(d.Notes).To(ContainElement(And(ContainSubstring("not applied in a drill"), ContainSubstring("Namespace dr-tools"),
			ContainSubstring("Probe dr-probe (dr-manifests/db/all.yaml:10) (cluster-scoped)"))))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
	out, code := runCLI(t, "status", "--config", a.config)
	g.Expect(code).To(Equal(0))
	g.Expect(out).To(ContainSubstring("[drilling]"))
	g.Expect(out).To(ContainSubstring("drill q1 in namespace dr-drill: succeeded: a failover would take"))
	t.Logf("drplan status:\n%s", out)

	t.Log("after keepFor the drill is torn down: only what it created goes")
	g.Eventually(func(g Gomega) {
		r, err := readDrillRecord(ctx, west, p.name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.TornDownAt.IsZero()).To(BeFalse())
	}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
	watch.stop()
	for _, v := range p.volumes {
		// Being deleted when the teardown is recorded; gone once Longhorn lifted its finalizer.
		g.Eventually(func() bool {
			err := west.Client.Get(ctx, key(planner.DrillVolumeName(v.name)), &longhorn.Volume{})
			return apierrors.IsNotFound(err)
		}).WithTimeout(time.Minute).WithPolling(200*time.Millisecond).Should(BeTrue(), "drill copy of %s deleted", v.name)
		if v.pvcName != "" {
			g.Expect(goneOrGoing(ctx, west, client.ObjectKey{Namespace: "dr-drill", Name: v.pvcName}, &corev1.PersistentVolumeClaim{})).To(BeTrue())
		}
	}
	for _, w := range p.waves {
		g.Expect(goneOrGoing(ctx, west, client.ObjectKey{Namespace: "dr-drill", Name: w.workload.name}, workload("dr-drill", w.workload, 0))).To(BeTrue())
	}
	g.Expect(goneOrGoing(ctx, west, client.ObjectKey{Namespace: "dr-drill", Name: "db-settings"}, &corev1.ConfigMap{})).To(BeTrue())
	g.Expect(goneOrGoing(ctx, west, client.ObjectKey{Name: "dr-drill"}, &corev1.Namespace{})).To(BeTrue(), "the namespace the drill created goes")
	after, err := protectedState(ctx, east, west, p)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(after).To(Equal(before), "the primary and the standby volumes are as before the drill")
	g.Expect(watch.changes()).To(BeEmpty(), "nothing of the primary or the standby volumes changed during the drill")
	g.Eventually(func(g Gomega) {
		st, err := a.getStatus()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.Plans[0].Drill.Phase).To(Equal(planner.DrillTornDown))
		g.Expect(st.Plans[0].Lifecycle).To(Equal(planner.LifecycleProtecting))
	}).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
}

// drManifests are TestDrillThreeWaves' manifests of wave db: a ConfigMap the drill applies in
// its namespace, a Namespace and an object of a cluster-scoped CRD (grantDrillManifests) it
// must not apply.
const drManifests = `apiVersion: v1
kind: ConfigMap
metadata: {name: db-settings, namespace: dr}
data: {mode: drill-me}
---
apiVersion: v1
kind: Namespace
metadata: {name: dr-tools}
---
apiVersion: drill.example.com/v1
kind: Probe
metadata: {name: dr-probe}
spec: {target: everything}
`

// grantDrillManifests installs in c the cluster-scoped CRD of drManifests' Probe and lets the
// agent apply what they hold, as a team grants what its manifests need (docs/install.md).
func grantDrillManifests(t *testing.T, c *drlab.Cluster) {
	t.Helper()
	g := NewWithT(t)
	ctx := t.Context()
	crd := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal([]byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: probes.drill.example.com}
spec:
  group: drill.example.com
  scope: Cluster
  names: {plural: probes, singular: probe, kind: Probe, listKind: ProbeList}
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`), &crd.Object)).To(Succeed())
	admin, err := client.New(c.API.Config, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(admin.Create(ctx, crd)).To(Succeed())
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "drplan-agent-dr-manifests"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps", "namespaces"}, Verbs: []string{"get", "create", "patch", "delete"}},
		{APIGroups: []string{"drill.example.com"}, Resources: []string{"probes"}, Verbs: []string{"get", "create", "patch", "delete"}},
	}}
	g.Expect(admin.Create(ctx, role)).To(Succeed())
	g.Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: drlab.AgentUser}}})).To(Succeed())
}

func readDrillRecord(ctx context.Context, west *drlab.Cluster, plan string) (*planner.FailoverRecord, error) {
	cm := &corev1.ConfigMap{}
	if err := west.Client.Get(ctx, key(planner.DrillRecordName(plan)), cm); err != nil {
		return nil, err
	}
	r := &planner.FailoverRecord{}
	if err := json.Unmarshal([]byte(cm.Data[planner.RecordKey]), r); err != nil {
		return nil, err
	}
	return r, nil
}

func stepNames(r *planner.FailoverRecord) []string {
	out := make([]string, len(r.Steps))
	for i, s := range r.Steps {
		out[i] = s.Name
	}
	return out
}

// goneOrGoing reports whether the object is deleted or being deleted (the lab runs no
// controller that lifts the protection finalizers of claims, volumes and namespaces).
func goneOrGoing(ctx context.Context, c *drlab.Cluster, k client.ObjectKey, obj client.Object) bool {
	err := c.Client.Get(ctx, k, obj)
	return apierrors.IsNotFound(err) || (err == nil && obj.GetDeletionTimestamp() != nil)
}

// protectedState is what a drill must not change, in a few comparable lines: the primary's
// source volumes (spec generation and labels), the plan's recurring job, workloads, and the
// backups and snapshots of its volumes, and the secondary's standby volumes (spec generation, labels, standby and restore
// state, their engines' restored backup) and the plan's own workloads there.
func protectedState(ctx context.Context, east, west *drlab.Cluster, p foPlan) ([]string, error) {
	var out []string
	for _, c := range []*drlab.Cluster{east, west} {
		for _, v := range p.volumes {
			vol := &longhorn.Volume{}
			if err := c.Client.Get(ctx, key(v.standbyName()), vol); err != nil {
				return nil, err
			}
			out = append(out, fmt.Sprintf("%s volume %s gen %d labels %v standby %t/%t restoreRequired %t fromBackup %s", c.Name, vol.Name, vol.Generation,
				vol.Labels, vol.Spec.Standby, vol.Status.IsStandby, vol.Status.RestoreRequired, vol.Spec.FromBackup))
			if c == west {
				e := &longhorn.Engine{}
				if err := c.Client.Get(ctx, key(longhorn.EngineName(vol.Name)), e); err != nil {
					return nil, err
				}
				out = append(out, fmt.Sprintf("west engine %s restored %s requested %s", e.Name, e.Status.LastRestoredBackup, e.Spec.RequestedBackupRestore))
			}
		}
		for _, w := range p.waves {
			obj := workload(p.name, w.workload, 0)
			if err := c.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return nil, err
			}
			out = append(out, fmt.Sprintf("%s %s %s gen %d replicas %d", c.Name, w.workload.kind, obj.GetName(), obj.GetGeneration(), specReplicas(obj)))
		}
	}
	// Only the plan's: other tests share the lab and back up their own volumes meanwhile.
	job := &longhorn.RecurringJob{}
	switch err := east.Client.Get(ctx, key("drplan-"+p.name), job); {
	case err == nil:
		out = append(out, fmt.Sprintf("east job %s gen %d", job.Name, job.Generation))
	case !apierrors.IsNotFound(err):
		return nil, err
	}
	for _, v := range p.volumes {
		backups := &longhorn.BackupList{}
		if err := east.Client.List(ctx, backups, client.InNamespace(ns), client.MatchingLabels{longhorn.LabelBackupVolume: v.name}); err != nil {
			return nil, err
		}
		for _, b := range backups.Items {
			out = append(out, "east backup "+b.Name)
		}
	}
	snaps := &longhorn.SnapshotList{}
	if err := east.Client.List(ctx, snaps, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, v := range p.volumes {
		mine[v.name] = true
	}
	for _, s := range snaps.Items {
		if mine[s.Spec.Volume] {
			out = append(out, "east snapshot "+s.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// protectedWatch compares protectedState with the state before, every 250ms, until stopped.
type protectedWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	diffs  []string
}

func watchProtected(t *testing.T, east, west *drlab.Cluster, p foPlan, before []string) *protectedWatch {
	ctx, cancel := context.WithCancel(t.Context())
	w := &protectedWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now, err := protectedState(ctx, east, west, p)
			if err != nil {
				continue // a read failed (the test ends): nothing to compare
			}
			for _, line := range now {
				if !slices.Contains(before, line) {
					w.mu.Lock()
					if !slices.Contains(w.diffs, line) {
						w.diffs = append(w.diffs, line)
					}
					w.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *protectedWatch) stop() {
	w.cancel()
	<-w.done
}

func (w *protectedWatch) changes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.diffs)
}
