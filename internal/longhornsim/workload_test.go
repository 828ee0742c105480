package longhornsim

import (
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The workload readiness loop makes Deployments and StatefulSets Current for kstatus after
// its delay, and again after a scale.
func TestWorkloadReadiness(t *testing.T) {
	requireEnv(t)
	west := env.west
	labels := map[string]string{"app": "db"}
	pod := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	tests := []struct {
		name string
		obj  client.Object
		kind string
	}{
		{"deployment", &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: pod},
		}, "Deployment"},
		{"statefulset", &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
			Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: pod},
		}, "StatefulSet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(west.c.Create(t.Context(), tt.obj)).To(Succeed())
			kstatus := func() status.Status {
				g.Expect(west.c.Get(t.Context(), client.ObjectKeyFromObject(tt.obj), tt.obj)).To(Succeed())
				raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tt.obj)
				g.Expect(err).NotTo(HaveOccurred())
				u := &unstructured.Unstructured{Object: raw}
				u.SetKind(tt.kind)
				u.SetAPIVersion("apps/v1")
				res, err := status.Compute(u)
				g.Expect(err).NotTo(HaveOccurred())
				return res.Status
			}
			g.Expect(kstatus()).To(Equal(status.InProgressStatus))
			g.Eventually(kstatus).WithTimeout(10 * time.Second).WithPolling(poll).Should(Equal(status.CurrentStatus))

			patch := client.MergeFrom(tt.obj.DeepCopyObject().(client.Object))
			switch o := tt.obj.(type) {
			case *appsv1.Deployment:
				o.Spec.Replicas = ptr.To[int32](5)
			case *appsv1.StatefulSet:
				o.Spec.Replicas = ptr.To[int32](5)
			}
			g.Expect(west.c.Patch(t.Context(), tt.obj, patch)).To(Succeed())
			g.Expect(kstatus()).To(Equal(status.InProgressStatus))
			g.Eventually(kstatus).WithTimeout(10 * time.Second).WithPolling(poll).Should(Equal(status.CurrentStatus))
		})
	}
}

// A restarted simulator takes over from the cluster, the store and the data files: the
// standby volume keeps its records and follows a backup made while west's simulator was down.
func TestRestart(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	east, west := env.east, env.west
	data, _ := standbyFromEast(t, "restart")
	initiated := getVolume(t, west, "restart").Annotations[AnnotationRestoreInitiatedAt]
	g.Expect(initiated).NotTo(BeEmpty())

	g.Expect(west.stopSim()).To(Succeed())
	copy(data, randomBytes(t, testBlockSize))
	g.Expect(east.sim.WriteVolume(t.Context(), "restart", 0, data[:testBlockSize])).To(Succeed())
	b := backupNow(t, east, "restart")
	g.Expect(west.startSim(env.dir)).To(Succeed())

	requestTargetSync(t, west)
	waitRestored(t, west, "restart", b.Name, data, timeout)
	v := getVolume(t, west, "restart")
	g.Expect(v.Annotations).To(HaveKeyWithValue(AnnotationRestoreInitiatedAt, initiated))
	g.Expect(v.Annotations).To(HaveKeyWithValue(AnnotationLastRestoreBytes, "65536"))
}
