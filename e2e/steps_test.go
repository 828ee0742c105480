package e2e

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/drplan/drplan/internal/drlab"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// The manifests of TestFailoverAppliesManifestsThenTraffic: a namespace, a CRD and an object of
// it, applied in wave db; a ConfigMap a DNS controller would act on, applied by the traffic step.
const (
	aplyDB = `apiVersion: v1
kind: Namespace
metadata:
  name: aply-app
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.aply.example.com
spec:
  group: aply.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: aply.example.com/v1
kind: Widget
metadata:
  name: main
  namespace: aply-app
spec:
  size: 3
`
	aplyTraffic = `apiVersion: v1
kind: ConfigMap
metadata:
  name: dns
  namespace: aply-app
  annotations:
    dns.example.com/target: west
data:
  site: west
`
)

// TestFailoverAppliesManifestsThenTraffic: a wave applies its namespace and CRD first, waits for
// the CRD to be established (held here by a name conflict, as a real cluster can), then the
// object of that CRD, and only then activates its volume; the traffic step runs last, after the
// last wave's gates (a CEL gate the test holds, and a Job gate whose Job really runs).
func TestFailoverAppliesManifestsThenTraffic(t *testing.T) {
	lab := requireLab(t)
	t.Parallel()
	g := NewWithT(t)
	ctx := t.Context()
	east, west := lab.Clusters["east"], lab.Clusters["west"]
	p := foPlan{name: "aply", catchUp: "1m",
		waves: []foWave{
			{name: "db", extra: "      apply: {path: aply-manifests/db, timeout: 30m}\n"},
			{name: "web", gate: `{apiVersion: v1, kind: ConfigMap, namespace: aply, name: flag, timeout: 30m, current: "data.ready == 'yes'"}, ` +
				`{kind: Job, namespace: aply-app, name: smoke, timeout: 5m, job: {image: busybox, command: [sh, -c, "echo smoke test passed"]}}`},
		},
		volumes: []foVolume{{name: "aply-db", wave: "db"}, {name: "aply-web", wave: "web"}},
		tail:    "  traffic: {path: aply-manifests/traffic}\n",
		files:   map[string]string{"aply-manifests/db/all.yaml": aplyDB, "aply-manifests/traffic/dns.yaml": aplyTraffic},
	}
	g.Expect(client.IgnoreAlreadyExists(west.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aply"}}))).To(Succeed())
	flag := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "aply", Name: "flag"}, Data: map[string]string{"ready": "no"}}
	g.Expect(west.Client.Create(ctx, flag)).To(Succeed())
	// A CRD of the same group already claims the singular name widget: the plan's CRD is not established.
	conflict := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal([]byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gizmos.aply.example.com
spec:
  group: aply.example.com
  scope: Namespaced
  names: {plural: gizmos, singular: widget, kind: Gizmo, listKind: GizmoList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`), &conflict.Object)).To(Succeed())
	admin, err := client.New(west.API.Config, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(admin.Create(ctx, conflict)).To(Succeed())
	// The agent applies the manifests with its own credentials: the install's ClusterRole does
	// not cover them, so the team grants what its manifests need, as docs/install.md says.
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "drplan-agent-aply-manifests"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "create", "patch"}},
		{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: []string{"get", "create", "patch"}},
		{APIGroups: []string{"aply.example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get", "create", "patch"}},
	}}
	g.Expect(admin.Create(ctx, role)).To(Succeed())
	g.Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: drlab.AgentUser}}})).To(Succeed())

	setup := protectForFailover(t, lab, east, west, p)
	for _, v := range p.volumes {
		g.Expect(east.Sim.Detach(ctx, v.name)).To(Succeed(), "the application on east is stopped already")
	}
	p.failover = true
	setup.repo.commit(t, "fail over aply", p.commitFiles())

	waiting := func(want string) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			st, err := setup.agent.getStatus()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(st.Plans).NotTo(BeEmpty())
			g.Expect(st.Plans[0].FailoverStatus).NotTo(BeNil())
			g.Expect(st.Plans[0].FailoverStatus.Waiting).To(ContainSubstring(want))
		}).WithTimeout(3 * time.Minute).WithPolling(poll).Should(Succeed())
	}
	widget := &unstructured.Unstructured{}
	widget.SetAPIVersion("aply.example.com/v1")
	widget.SetKind("Widget")
	t.Log("the wave waits for its CRD, which is not established")
	waiting("wave db: CustomResourceDefinition widgets.aply.example.com (aply-manifests/db/all.yaml:6)")
	ns := &corev1.Namespace{}
	g.Expect(west.Client.Get(ctx, client.ObjectKey{Name: "aply-app"}, ns)).To(Succeed(), "namespaces and CRDs go first")
	g.Expect(ns.Annotations).To(HaveKey(planner.AnnotationApplied))
	vol := &longhorn.Volume{}
	g.Expect(west.Client.Get(ctx, key("aply-db"), vol)).To(Succeed())
	g.Expect(vol.Spec.Standby).To(BeTrue(), "no volume of the wave is activated before its manifests are ready")
	g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: "aply-app", Name: "main"}, widget)).NotTo(Succeed(), "nothing of the CRD's kind is applied before it is established")

	t.Log("the conflict goes: the CRD is established, the Widget applied, the volume activated")
	g.Expect(admin.Delete(ctx, conflict)).To(Succeed())
	waiting("wave web waits for its gates")
	fresh, err := client.New(west.API.Config, client.Options{}) // a new client: Widget is a new kind now
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fresh.Get(ctx, client.ObjectKey{Namespace: "aply-app", Name: "main"}, widget)).To(Succeed())
	crd := &unstructured.Unstructured{}
	crd.SetAPIVersion("apiextensions.k8s.io/v1")
	crd.SetKind("CustomResourceDefinition")
	g.Expect(fresh.Get(ctx, client.ObjectKey{Name: "widgets.aply.example.com"}, crd)).To(Succeed())
	var establishedAt metav1.Time
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		c, _ := c.(map[string]any)
		if c["type"] == "Established" && c["status"] == "True" {
			g.Expect(establishedAt.UnmarshalQueryParameter(c["lastTransitionTime"].(string))).To(Succeed())
		}
	}
	g.Expect(establishedAt.IsZero()).To(BeFalse())
	created := widget.GetCreationTimestamp()
	g.Expect(created.Before(&establishedAt)).To(BeFalse(), "the Widget was applied once its CRD was established")
	g.Expect(west.Client.Get(ctx, key("aply-db"), vol)).To(Succeed())
	g.Expect(vol.Spec.Standby).To(BeFalse())

	t.Log("the last wave's gates hold: no traffic yet; the gate's Job runs")
	dns := &corev1.ConfigMap{}
	g.Expect(west.Client.Get(ctx, client.ObjectKey{Namespace: "aply-app", Name: "dns"}, dns)).NotTo(Succeed(), "traffic runs after every gate")
	g.Eventually(func(g Gomega) {
		job := &unstructured.Unstructured{}
		job.SetAPIVersion("batch/v1")
		job.SetKind("Job")
		g.Expect(west.Client.Get(ctx, client.ObjectKey{Namespace: "aply-app", Name: "smoke"}, job)).To(Succeed())
		succeeded, _, _ := unstructured.NestedInt64(job.Object, "status", "succeeded")
		g.Expect(succeeded).To(Equal(int64(1)))
	}).WithTimeout(2 * time.Minute).WithPolling(poll).Should(Succeed())
	g.Expect(west.Client.Get(ctx, client.ObjectKey{Namespace: "aply-app", Name: "dns"}, dns)).NotTo(Succeed(), "the CEL gate still holds")

	t.Log("the gate turns ready: traffic, then the failover is complete")
	flag.Data["ready"] = "yes"
	g.Expect(west.Client.Update(ctx, flag)).To(Succeed())
	rec := waitFailoverDone(t, west, p.name, 2*time.Minute)
	g.Expect(rec.Steps[len(rec.Steps)-1].Name).To(Equal(planner.StepTraffic))
	web := rec.Steps[len(rec.Steps)-2]
	g.Expect(web.Name).To(Equal(planner.WaveStep("web")))
	g.Expect(west.Client.Get(ctx, client.ObjectKey{Namespace: "aply-app", Name: "dns"}, dns)).To(Succeed())
	g.Expect(dns.Data).To(HaveKeyWithValue("site", "west"))
	g.Expect(dns.CreationTimestamp.Time.Before(web.FinishedAt.Truncate(time.Second))).To(BeFalse(), "traffic was applied after the last wave was done")
}
