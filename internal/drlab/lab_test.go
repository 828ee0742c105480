package drlab_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/drlab"
	"github.com/drplan/drplan/internal/testenv"
)

// A lab cluster has a node whose stand-in kubelet runs Jobs' pods as real processes and serves
// exec through the API server; StopCluster stops it. One cluster keeps the test short.
func TestLabNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real API server")
	}
	tools, _ := testenv.FindTools()
	for _, p := range []string{tools.KubeAPIServer, tools.Etcd} {
		if _, err := os.Stat(p); p == "" || err != nil {
			t.Skipf("kube-apiserver or etcd not built (%q): run `make tools`", p)
		}
	}
	g := NewWithT(t)
	ctx := t.Context()
	lab, err := drlab.Start(ctx, drlab.Options{Dir: t.TempDir(), Clusters: []string{"east"}})
	g.Expect(err).NotTo(HaveOccurred())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = lab.Stop()
		}
	})
	east := lab.Clusters["east"]
	g.Expect(east.Node).To(Equal("east-node"))
	g.Expect(east.Kubelet.NodeName()).To(Equal("east-node"))
	var node corev1.Node
	g.Expect(east.Client.Get(ctx, client.ObjectKey{Name: east.Node}, &node)).To(Succeed())

	t.Run("jobs", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			script string
			want   status.Status
			cond   batchv1.JobConditionType
		}{
			{"complete", `echo "$GREETING" > done.txt`, status.CurrentStatus, batchv1.JobComplete},
			{"failed", "exit 4", status.FailedStatus, batchv1.JobFailed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				g := NewWithT(t)
				job := &batchv1.Job{
					ObjectMeta: metav1.ObjectMeta{Name: "hook-" + tc.name, Namespace: "default"},
					Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers: []corev1.Container{{Name: "hook", Image: "busybox", Command: []string{"sh", "-c", tc.script},
							Env: []corev1.EnvVar{{Name: "GREETING", Value: "hi"}}}},
					}}},
				}
				g.Expect(east.Client.Create(ctx, job)).To(Succeed())
				var j batchv1.Job
				g.Eventually(func() []batchv1.JobCondition {
					g.Expect(east.Client.Get(ctx, client.ObjectKeyFromObject(job), &j)).To(Succeed())
					return j.Status.Conditions
				}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(ContainElement(And(
					HaveField("Type", tc.cond), HaveField("Status", corev1.ConditionTrue))))
				raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&j)
				g.Expect(err).NotTo(HaveOccurred())
				u := &unstructured.Unstructured{Object: raw}
				u.SetAPIVersion("batch/v1")
				u.SetKind("Job")
				res, err := status.Compute(u)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(res.Status).To(Equal(tc.want), res.Message)
			})
		}
		// The completed Job's pod ran its command in its own directory on the node.
		var pods corev1.PodList
		NewWithT(t).Expect(east.Client.List(ctx, &pods, client.InNamespace("default"))).To(Succeed())
		found := false
		for _, p := range pods.Items {
			if p.Labels[batchv1.JobNameLabel] == "hook-complete" {
				found = true
				NewWithT(t).Expect(os.ReadFile(filepath.Join(east.Kubelet.PodDir("default", p.Name), "done.txt"))).To(Equal([]byte("hi\n")))
			}
		}
		NewWithT(t).Expect(found).To(BeTrue())
	})

	t.Run("exec", func(t *testing.T) {
		g := NewWithT(t)
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"},
			Spec: corev1.PodSpec{NodeName: east.Node, Containers: []corev1.Container{
				{Name: "app", Image: "busybox", Command: []string{"sleep", "infinity"}}}},
		}
		g.Expect(east.Client.Create(ctx, p)).To(Succeed())
		g.Eventually(func() corev1.PodPhase {
			g.Expect(east.Client.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
			return p.Status.Phase
		}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Equal(corev1.PodRunning))
		cs, err := kubernetes.NewForConfig(east.API.Config)
		g.Expect(err).NotTo(HaveOccurred())
		u := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("app").SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: "app", Command: []string{"sh", "-c", "echo $POD_NAME; exit 2"}, Stdout: true, Stderr: true}, scheme.ParameterCodec).URL()
		ws, err := remotecommand.NewWebSocketExecutor(east.API.Config, http.MethodGet, u.String())
		g.Expect(err).NotTo(HaveOccurred())
		spdy, err := remotecommand.NewSPDYExecutor(east.API.Config, http.MethodPost, u)
		g.Expect(err).NotTo(HaveOccurred())
		e, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
		g.Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var out bytes.Buffer
		err = e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: io.Discard})
		g.Expect(err).To(MatchError("command terminated with exit code 2"))
		g.Expect(out.String()).To(Equal("app\n"))
	})

	// StopCluster stops the kubelet with the rest: nothing listens at its address any more.
	addr := east.Kubelet.Addr()
	g.Expect(lab.Stop()).To(Succeed())
	stopped = true
	_, err = net.DialTimeout("tcp", addr, time.Second)
	g.Expect(err).To(HaveOccurred(), "the kubelet still listens on %s", addr)
}
