package cluster_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/drplan/drplan/internal/cluster"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/planstatus"
	"github.com/drplan/drplan/internal/testenv"
)

// The caches sync, reads make no request, a change is seen through the watch, watch streams
// outlive the request timeout, and a cluster that stops answering is reported unreachable,
// with the time it went down.
func TestCluster(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	crds, err := longhorn.CRDs()
	g.Expect(err).NotTo(HaveOccurred())
	api := testenv.StartTestCluster(t, "east", testenv.ClusterOptions{CRDs: crds})

	changes := make(chan struct{}, 100)
	c, err := cluster.New(cluster.Options{Name: "east", Config: api.Config, LonghornNamespace: "longhorn-system",
		ProbeInterval: 200 * time.Millisecond, RequestTimeout: time.Second, OnChange: func() {
			select {
			case changes <- struct{}{}:
			default:
			}
		}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Start(ctx)).To(Succeed())
	g.Expect(c.WaitSynced(ctx, 30*time.Second)).To(BeTrue())
	g.Expect(c.Health().Reachable).To(BeTrue())

	// Writes go through a client of their own: a loaded machine may take c's second.
	w, err := client.New(api.Config, client.Options{Scheme: cluster.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(w.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "longhorn-system"}})).To(Succeed())
	v := &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pg-data", Namespace: "longhorn-system"}}
	g.Expect(w.Create(ctx, v)).To(Succeed())
	g.Eventually(func(g Gomega) {
		s, err := c.State(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(s.Volumes).To(HaveLen(1))
		g.Expect(s.PlanStatusesKnown).To(BeFalse(), "no DRPlanStatus CRD here: no status objects, and no error")
	}).WithTimeout(10 * time.Second).Should(Succeed())
	g.Eventually(changes).Should(Receive())

	before := c.Requests()
	for range 10 {
		_, err := c.State(ctx)
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(c.Requests()).To(Equal(before), "State reads the caches only")

	// The streams stay open past the one-second request timeout: none is opened again.
	watches := c.Watches()
	g.Expect(watches).To(BeNumerically(">=", 5), "one watch per cached kind")
	g.Consistently(c.Watches).WithTimeout(3 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal(watches))

	// Scopes come from the API server's discovery, a CRD's as soon as it is established; a kind
	// the cluster does not serve is left out.
	crd := &unstructured.Unstructured{}
	g.Expect(yaml.Unmarshal([]byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: clusterthings.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: clusterthings, singular: clusterthing, kind: ClusterThing, listKind: ClusterThingList}
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`), &crd.Object)).To(Succeed())
	g.Expect(w.Create(ctx, crd)).To(Succeed())
	kind := func(apiVersion, kind string) observed.Kind { return observed.Kind{APIVersion: apiVersion, Kind: kind} }
	g.Eventually(func(g Gomega) {
		namespaced, err := c.Namespaced([]observed.Kind{kind("v1", "ConfigMap"), kind("v1", "Namespace"), kind("longhorn.io/v1beta2", "Volume"),
			kind("apiextensions.k8s.io/v1", "CustomResourceDefinition"), kind("example.com/v1", "ClusterThing"), kind("example.com/v1", "Gadget"),
			kind("nothing.example.org/v1", "Gadget")})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(namespaced).To(Equal(map[observed.Kind]bool{kind("v1", "ConfigMap"): true, kind("v1", "Namespace"): false,
			kind("longhorn.io/v1beta2", "Volume"): true, kind("apiextensions.k8s.io/v1", "CustomResourceDefinition"): false,
			kind("example.com/v1", "ClusterThing"): false}))
	}).WithTimeout(20 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

	g.Expect(api.Stop()).To(Succeed())
	down := time.Now()
	g.Eventually(func() bool { return c.Health().Reachable }).WithTimeout(20 * time.Second).Should(BeFalse())
	h := c.Health()
	g.Expect(h.DownSince.IsZero()).To(BeFalse())
	g.Expect(h.Err).NotTo(BeEmpty())
	t.Logf("unreachable %s after the API server finished stopping: %s", time.Since(down).Round(time.Millisecond), h.Err)
}

// With drplan's CRD installed, the status objects are cached too: drplan's own, in Longhorn's
// namespace.
func TestClusterStatusObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	crds, err := longhorn.CRDs()
	g.Expect(err).NotTo(HaveOccurred())
	statusCRD, err := planstatus.CRD()
	g.Expect(err).NotTo(HaveOccurred())
	api := testenv.StartTestCluster(t, "west", testenv.ClusterOptions{CRDs: append(crds, statusCRD)})
	c, err := cluster.New(cluster.Options{Name: "west", Config: api.Config, LonghornNamespace: "longhorn-system"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.Start(ctx)).To(Succeed())
	g.Expect(c.WaitSynced(ctx, 30*time.Second)).To(BeTrue())
	w, err := client.New(api.Config, client.Options{Scheme: cluster.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(w.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "longhorn-system"}})).To(Succeed())
	for _, o := range []*planstatus.DRPlanStatus{
		{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "longhorn-system", Labels: map[string]string{"app.kubernetes.io/managed-by": "drplan"}},
			Spec: planstatus.DRPlanStatusSpec{Plan: "shop"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "not-ours", Namespace: "longhorn-system"}, Spec: planstatus.DRPlanStatusSpec{Plan: "not-ours"}},
	} {
		g.Expect(w.Create(ctx, o)).To(Succeed())
	}
	g.Eventually(func(g Gomega) {
		s, err := c.State(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(s.PlanStatusesKnown).To(BeTrue())
		g.Expect(s.PlanStatuses).To(HaveLen(1))
		g.Expect(s.PlanStatus("shop")).NotTo(BeNil())
	}).WithTimeout(20 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
}
