package hooks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilexec "k8s.io/client-go/util/exec"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/hooks"
	"github.com/drplan/drplan/plans"
)

// Selected keeps the running pods the selector selects in its namespace, sorted by name.
func TestSelected(t *testing.T) {
	ctx := requireEnv(t)
	g := NewWithT(t)
	ns := namespace(ctx, t, "selected")
	other := namespace(ctx, t, "selected-other")
	app := map[string]string{"app": "pg"}
	for _, p := range []struct {
		ns, name string
		labels   map[string]string
		phase    corev1.PodPhase
		deleted  bool
	}{
		{ns, "pg-1", app, corev1.PodRunning, false},
		{ns, "pg-0", app, corev1.PodRunning, false},
		{ns, "pg-pending", app, corev1.PodPending, false},
		{ns, "pg-done", app, corev1.PodSucceeded, false},
		{ns, "pg-leaving", app, corev1.PodRunning, true},
		{ns, "web", map[string]string{"app": "web"}, corev1.PodRunning, false},
		{other, "pg-0", app, corev1.PodRunning, false},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: p.ns, Labels: p.labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: "postgres"}}}}
		if p.deleted {
			// Kept, being deleted, until the test removes its finalizer.
			pod.Finalizers = []string{"drplan.io/test"}
		}
		g.Expect(env.c.Create(ctx, pod)).To(Succeed())
		patch := client.MergeFrom(pod.DeepCopy())
		pod.Status.Phase = p.phase
		g.Expect(env.c.Status().Patch(ctx, pod, patch)).To(Succeed())
		if p.deleted {
			g.Expect(env.c.Delete(ctx, pod)).To(Succeed())
			t.Cleanup(func() {
				_ = env.c.Patch(context.WithoutCancel(ctx), pod, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`)))
			})
		}
	}

	pods, err := hooks.Selected(ctx, env.c, &plans.ExecHook{Namespace: ns, Selector: app, Command: []string{"true"}})
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, p := range pods {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	g.Expect(names).To(Equal([]string{ns + "/pg-0", ns + "/pg-1"}))

	pods, err = hooks.Selected(ctx, env.c, &plans.ExecHook{Namespace: ns, Selector: map[string]string{"app": "none"}, Command: []string{"true"}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pods).To(BeEmpty())

	_, err = hooks.Selected(ctx, env.c, &plans.ExecHook{Namespace: ns, Command: []string{"true"}})
	g.Expect(err).To(MatchError("exec hook in namespace " + ns + " has no selector"))

	res := runner().Run(ctx, hooks.PhasePre, plans.Hook{Name: "checkpoint",
		Exec: &plans.ExecHook{Namespace: ns, Selector: map[string]string{"app": "none", "tier": "db"}, Command: []string{"true"}}})
	g.Expect(res.Err).To(MatchError("selector app=none,tier=db in namespace " + ns + " selects no running pod"))
	g.Expect(res.Err).To(MatchError(hooks.ErrNoPod))
	g.Expect(res.Pods).To(BeEmpty())

	// The application was stopped on purpose (a planned switchover): skipped, not failed.
	stopped := runner()
	stopped.Stopped = true
	res = stopped.Run(ctx, hooks.PhasePre, plans.Hook{Name: "checkpoint",
		Exec: &plans.ExecHook{Namespace: ns, Selector: map[string]string{"app": "none"}, Command: []string{"true"}}})
	g.Expect(res.Err).NotTo(HaveOccurred())
	g.Expect(res.Skipped).To(Equal("no running pod: the application is stopped"))
}

// Commands run in every selected pod through pods/exec and the kubelet stand-in: the first
// container by default, output kept, a non-zero exit and a timeout fail the hook.
func TestExec(t *testing.T) {
	ctx := requireEnv(t)
	ns := namespace(ctx, t, "exec")
	createRunningPods(ctx, t, ns, "pg-0", "pg-1")
	r := runner()
	exec := func(selector map[string]string, container string, timeout time.Duration, command ...string) hooks.Result {
		return r.Run(ctx, hooks.PhasePre, plans.Hook{Name: "checkpoint", Timeout: plans.Duration{Duration: timeout},
			Exec: &plans.ExecHook{Namespace: ns, Selector: selector, Container: container, Command: command}})
	}
	both := map[string]string{"app": "pg"}
	first := map[string]string{"app": "pg", "pod": "pg-0"}

	t.Run("every pod, first container", func(t *testing.T) {
		g := NewWithT(t)
		res := exec(both, "", 0, "sh", "-c", "echo $CONTAINER_NAME in $POD_NAME")
		g.Expect(res.Err).NotTo(HaveOccurred())
		g.Expect(res.Pods).To(Equal([]string{ns + "/pg-0", ns + "/pg-1"}))
		g.Expect(res.Output).To(Equal("==> " + ns + "/pg-0 <==\ndb in pg-0\n==> " + ns + "/pg-1 <==\ndb in pg-1"))
	})
	t.Run("named container", func(t *testing.T) {
		g := NewWithT(t)
		res := exec(first, "sidecar", 0, "sh", "-c", "echo $CONTAINER_NAME; echo to stderr >&2")
		g.Expect(res.Err).NotTo(HaveOccurred())
		g.Expect(res.Pods).To(Equal([]string{ns + "/pg-0"}))
		g.Expect(res.Output).To(SatisfyAll(ContainSubstring("sidecar"), ContainSubstring("to stderr")))
	})
	t.Run("exit code", func(t *testing.T) {
		g := NewWithT(t)
		res := exec(first, "", 0, "sh", "-c", "echo hi; exit 3")
		var code utilexec.CodeExitError
		g.Expect(errors.As(res.Err, &code)).To(BeTrue(), "%v", res.Err)
		g.Expect(code.Code).To(Equal(3))
		g.Expect(res.Err).To(MatchError("pod " + ns + "/pg-0: command terminated with exit code 3: hi"))
		g.Expect(res.Output).To(Equal("hi"))
		g.Expect(res.Pods).To(Equal([]string{ns + "/pg-0"}))
	})
	t.Run("each pod's failure", func(t *testing.T) {
		g := NewWithT(t)
		res := exec(both, "", 0, "sh", "-c", `test "$POD_NAME" = pg-0 || { echo no; exit 1; }`)
		g.Expect(res.Err).To(MatchError("pod " + ns + "/pg-1: command terminated with exit code 1: no"))
		g.Expect(res.Pods).To(Equal([]string{ns + "/pg-0", ns + "/pg-1"}))
	})
	t.Run("timeout", func(t *testing.T) {
		g := NewWithT(t)
		res := exec(first, "", time.Second, "sleep", "30")
		g.Expect(res.Err).To(MatchError(hooks.ErrTimeout))
		g.Expect(res.Err).To(MatchError("pod " + ns + "/pg-0: timed out after 1s"))
		g.Expect(res.Finished.Sub(res.Started)).To(BeNumerically("<", 10*time.Second))
	})
	t.Run("no such container", func(t *testing.T) {
		g := NewWithT(t)
		res := exec(first, "nope", 0, "true")
		g.Expect(res.Err).To(MatchError(ContainSubstring("pod " + ns + "/pg-0: ")))
	})
}

// createRunningPods creates pods bound to the stand-in's node, with containers db and sidecar,
// labelled app=pg and pod=<name>, and waits until the stand-in reports them Running.
func createRunningPods(ctx context.Context, t *testing.T, ns string, names ...string) {
	t.Helper()
	g := NewWithT(t)
	for _, name := range names {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "pg", "pod": name}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{
				{Name: "db", Image: "postgres"}, {Name: "sidecar", Image: "busybox"}}},
		}
		g.Expect(env.c.Create(ctx, pod)).To(Succeed())
	}
	g.Eventually(func(g Gomega) {
		pods, err := hooks.Selected(ctx, env.c, &plans.ExecHook{Namespace: ns, Selector: map[string]string{"app": "pg"}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pods).To(HaveLen(len(names)))
	}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
}
