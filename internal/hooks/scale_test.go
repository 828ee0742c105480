package hooks_test

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/hooks"
	"github.com/drplan/drplan/plans"
)

// A Deployment is scaled to zero, its replicas recorded first, and scaled back; a second run
// that finds it at zero with the annotation keeps the count.
func TestScaleToZero(t *testing.T) {
	ctx := requireEnv(t)
	g := NewWithT(t)
	ns := namespace(ctx, t, "scale")
	d := createDeployment(ctx, t, ns, "web", 3, nil)
	setStatusReplicas(ctx, t, d, 3)
	seen := watchDeployment(ctx, t, ns, "web")
	follow(ctx, t, ns, "web")

	r := runner()
	hook := plans.Hook{Name: "stop-web", Timeout: plans.Duration{Duration: 30 * time.Second},
		ScaleToZero: &plans.WorkloadRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "web"}}
	res := r.Run(ctx, hooks.PhasePre, hook)
	g.Expect(res.Err).NotTo(HaveOccurred())
	g.Expect(res.Output).To(Equal("Deployment " + ns + "/web scaled from 3 to 0 replicas"))
	g.Expect(res.Hook).To(Equal("stop-web"))
	g.Expect(res.Phase).To(Equal(hooks.PhasePre))
	g.Expect(res.Finished).To(BeTemporally(">=", res.Started))
	g.Expect(state(ctx, t, ns, "web")).To(Equal(deploymentState{Replicas: 0, Before: "3"}))

	// A run that did not scale back (the agent stopped) leaves the count for the next one.
	res = r.Run(ctx, hooks.PhasePre, hook)
	g.Expect(res.Err).NotTo(HaveOccurred())
	g.Expect(res.Output).To(Equal("Deployment " + ns + "/web scaled from 3 to 0 replicas"))
	g.Expect(state(ctx, t, ns, "web")).To(Equal(deploymentState{Replicas: 0, Before: "3"}))

	res = r.Run(ctx, hooks.PhaseRestore, hook)
	g.Expect(res.Err).NotTo(HaveOccurred())
	g.Expect(res.Output).To(Equal("Deployment " + ns + "/web scaled back to 3 replicas"))
	g.Expect(state(ctx, t, ns, "web")).To(Equal(deploymentState{Replicas: 3}))

	// Every state the Deployment went through: the count was written before the replicas
	// changed, and it was removed only after they were back.
	var states []deploymentState
	g.Eventually(func() deploymentState {
		states = seen()
		return states[len(states)-1]
	}).WithTimeout(10 * time.Second).Should(Equal(deploymentState{Replicas: 3}))
	g.Expect(states).To(Equal([]deploymentState{{Replicas: 3}, {Replicas: 3, Before: "3"}, {Replicas: 0, Before: "3"},
		{Replicas: 3, Before: "3"}, {Replicas: 3}}))

	// Nothing to scale back a second time.
	res = r.Run(ctx, hooks.PhaseRestore, hook)
	g.Expect(res.Err).NotTo(HaveOccurred())
	g.Expect(state(ctx, t, ns, "web")).To(Equal(deploymentState{Replicas: 3}))
}

// A workload found at zero keeps the count a previous run recorded, or records zero.
func TestScaleToZeroAlreadyAtZero(t *testing.T) {
	ctx := requireEnv(t)
	ns := namespace(ctx, t, "at-zero")
	for _, tc := range []struct {
		name       string
		annotation map[string]string
		before     string
		restored   int32
	}{
		{name: "recorded", annotation: map[string]string{hooks.AnnotationReplicasBefore: "4"}, before: "4", restored: 4},
		{name: "not-recorded", before: "0", restored: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			createDeployment(ctx, t, ns, tc.name, 0, tc.annotation)
			r := runner()
			// No API version: apps/v1 for a Deployment.
			hook := plans.Hook{Name: "stop", ScaleToZero: &plans.WorkloadRef{Kind: "Deployment", Namespace: ns, Name: tc.name}}
			res := r.Run(ctx, hooks.PhasePre, hook)
			g.Expect(res.Err).NotTo(HaveOccurred())
			g.Expect(state(ctx, t, ns, tc.name)).To(Equal(deploymentState{Replicas: 0, Before: tc.before}))
			res = r.Run(ctx, hooks.PhaseRestore, hook)
			g.Expect(res.Err).NotTo(HaveOccurred())
			g.Expect(state(ctx, t, ns, tc.name)).To(Equal(deploymentState{Replicas: tc.restored}))
		})
	}
}

// A workload that keeps its replicas past the timeout fails the hook; a missing or unknown
// workload fails it at once, with nothing to scale back.
func TestScaleToZeroFails(t *testing.T) {
	ctx := requireEnv(t)
	g := NewWithT(t)
	ns := namespace(ctx, t, "scale-fails")
	d := createDeployment(ctx, t, ns, "stuck", 2, nil)
	setStatusReplicas(ctx, t, d, 2) // and no controller to bring it down

	r := runner()
	res := r.Run(ctx, hooks.PhasePre, plans.Hook{Name: "stop", Timeout: plans.Duration{Duration: time.Second},
		ScaleToZero: &plans.WorkloadRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "stuck"}})
	g.Expect(res.Err).To(MatchError(hooks.ErrTimeout))
	g.Expect(res.Err).To(MatchError("timed out after 1s waiting for Deployment " + ns + "/stuck to have no replicas (2 left)"))
	g.Expect(res.Finished.Sub(res.Started)).To(BeNumerically("<", 10*time.Second))
	g.Expect(state(ctx, t, ns, "stuck")).To(Equal(deploymentState{Replicas: 0, Before: "2"}))

	res = r.Run(ctx, hooks.PhasePre, plans.Hook{Name: "stop",
		ScaleToZero: &plans.WorkloadRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "missing"}})
	g.Expect(res.Err).To(MatchError(ContainSubstring("get Deployment " + ns + "/missing: ")))
	res = r.Run(ctx, hooks.PhasePre, plans.Hook{Name: "stop",
		ScaleToZero: &plans.WorkloadRef{APIVersion: "example.com/v1", Kind: "Database", Namespace: ns, Name: "pg"}})
	g.Expect(res.Err).To(MatchError(ContainSubstring("get Database " + ns + "/pg: no matches for kind")))
}

// deploymentState is what the tests look at on a Deployment: spec.replicas and the count
// recorded by a scaleToZero hook.
type deploymentState struct {
	Replicas int32
	Before   string
}

func stateOf(d *appsv1.Deployment) deploymentState {
	return deploymentState{Replicas: ptr.Deref(d.Spec.Replicas, 1), Before: d.Annotations[hooks.AnnotationReplicasBefore]}
}

func state(ctx context.Context, t *testing.T, ns, name string) deploymentState {
	t.Helper()
	d := &appsv1.Deployment{}
	NewWithT(t).Expect(env.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
	return stateOf(d)
}

func createDeployment(ctx context.Context, t *testing.T, ns, name string, replicas int32, annotations map[string]string) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: annotations},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
			},
		},
	}
	NewWithT(t).Expect(env.c.Create(ctx, d)).To(Succeed())
	return d
}

func setStatusReplicas(ctx context.Context, t *testing.T, d *appsv1.Deployment, n int32) {
	t.Helper()
	patch := client.MergeFrom(d.DeepCopy())
	d.Status.Replicas = n
	NewWithT(t).Expect(env.c.Status().Patch(ctx, d, patch)).To(Succeed())
}

// follow stands in for the Deployment controller, which this API server has not: it sets the
// Deployment's status.replicas to its spec.replicas whenever they differ, until the test ends.
func follow(ctx context.Context, t *testing.T, ns, name string) {
	t.Helper()
	w, err := env.c.Watch(ctx, &appsv1.DeploymentList{}, client.InNamespace(ns))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	done := make(chan struct{})
	t.Cleanup(func() { w.Stop(); <-done })
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || d.Name != name {
				continue
			}
			if n := ptr.Deref(d.Spec.Replicas, 1); d.Status.Replicas != n {
				patch := client.MergeFrom(d.DeepCopy())
				d.Status.Replicas = n
				if err := env.c.Status().Patch(ctx, d, patch); err != nil && ctx.Err() == nil {
					t.Errorf("set status.replicas of deployment %s/%s: %v", ns, name, err)
				}
			}
		}
	}()
}

// watchDeployment records the states a Deployment goes through (each once when repeated, as
// status changes repeat them); seen returns them so far.
func watchDeployment(ctx context.Context, t *testing.T, ns, name string) (seen func() []deploymentState) {
	t.Helper()
	d := &appsv1.Deployment{}
	NewWithT(t).Expect(env.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
	w, err := env.c.Watch(ctx, &appsv1.DeploymentList{}, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: d.ResourceVersion}})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var mu sync.Mutex
	states := []deploymentState{stateOf(d)}
	done := make(chan struct{})
	t.Cleanup(func() { w.Stop(); <-done })
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || d.Name != name {
				continue
			}
			mu.Lock()
			if s := stateOf(d); states[len(states)-1] != s {
				states = append(states, s)
			}
			mu.Unlock()
		}
	}()
	return func() []deploymentState {
		mu.Lock()
		defer mu.Unlock()
		return append([]deploymentState(nil), states...)
	}
}
