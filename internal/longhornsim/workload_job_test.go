package longhornsim

import (
	"slices"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestJobProgress(t *testing.T) {
	t0, t1 := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(1010, 0))
	pod := func(phase corev1.PodPhase) corev1.Pod { return corev1.Pod{Status: corev1.PodStatus{Phase: phase}} }
	conds := func(st batchv1.JobStatus) []batchv1.JobConditionType {
		var out []batchv1.JobConditionType
		for _, c := range st.Conditions {
			if c.Status == corev1.ConditionTrue {
				out = append(out, c.Type)
			}
		}
		return out
	}
	started := batchv1.JobStatus{StartTime: &t0}
	for _, tc := range []struct {
		name        string
		completions *int32
		backoff     *int32
		status      batchv1.JobStatus
		pods        []corev1.Pod
		create      bool
		active      int32
		succeeded   int32
		failed      int32
		conditions  []batchv1.JobConditionType
	}{
		{"new: starts a pod", nil, nil, batchv1.JobStatus{}, nil, true, 1, 0, 0, nil},
		{"pod running", nil, nil, started, []corev1.Pod{pod(corev1.PodRunning)}, false, 1, 0, 0, nil},
		{"pod succeeded", nil, nil, started, []corev1.Pod{pod(corev1.PodSucceeded)}, false, 0, 1, 0,
			[]batchv1.JobConditionType{batchv1.JobSuccessCriteriaMet, batchv1.JobComplete}},
		{"two completions, one done: next pod", ptr.To[int32](2), nil, started, []corev1.Pod{pod(corev1.PodSucceeded)}, true, 1, 1, 0, nil},
		{"failed within the backoff limit: retry", nil, ptr.To[int32](1), started, []corev1.Pod{pod(corev1.PodFailed)}, true, 1, 0, 1, nil},
		{"failed past the backoff limit", nil, ptr.To[int32](0), started, []corev1.Pod{pod(corev1.PodFailed)}, false, 0, 0, 1,
			[]batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobFailed}},
		{"counters never go down", nil, nil, batchv1.JobStatus{StartTime: &t0, Failed: 2}, nil, true, 1, 0, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			job := &batchv1.Job{Spec: batchv1.JobSpec{Completions: tc.completions, BackoffLimit: tc.backoff}, Status: tc.status}
			st, create := jobProgress(job, tc.pods, t1)
			g.Expect(create).To(Equal(tc.create))
			g.Expect(st.Active).To(Equal(tc.active))
			g.Expect(st.Succeeded).To(Equal(tc.succeeded))
			g.Expect(st.Failed).To(Equal(tc.failed))
			g.Expect(conds(st)).To(Equal(tc.conditions))
			g.Expect(st.StartTime).NotTo(BeNil())
			if tc.status.StartTime != nil {
				g.Expect(*st.StartTime).To(Equal(t0), "startTime is kept")
			}
			if slices.Contains(tc.conditions, batchv1.JobComplete) {
				g.Expect(st.CompletionTime).To(Equal(&t1))
			} else {
				g.Expect(st.CompletionTime).To(BeNil())
			}
		})
	}
}

// The Job stand-in binds a Job's pods to the node and judges the Job from their phases, with a
// status the API server accepts and kstatus reads as Current or Failed. The test plays the
// kubelet: it sets the pods' phases itself.
func TestJobStandIn(t *testing.T) {
	requireEnv(t)
	west := env.west
	for _, tc := range []struct {
		name    string
		backoff int32
		phases  []corev1.PodPhase // of the Job's pods, one after the other
		want    status.Status
		cond    batchv1.JobConditionType
	}{
		{"complete", 0, []corev1.PodPhase{corev1.PodSucceeded}, status.CurrentStatus, batchv1.JobComplete},
		{"failed after a retry", 1, []corev1.PodPhase{corev1.PodFailed, corev1.PodFailed}, status.FailedStatus, batchv1.JobFailed},
		{"retried, then complete", 1, []corev1.PodPhase{corev1.PodFailed, corev1.PodSucceeded}, status.CurrentStatus, batchv1.JobComplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := t.Context()
			job := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "hook-", Namespace: "default"},
				Spec: batchv1.JobSpec{BackoffLimit: ptr.To(tc.backoff), Template: corev1.PodTemplateSpec{
					Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
						Containers: []corev1.Container{{Name: "hook", Image: "busybox", Command: []string{"true"}}}},
				}},
			}
			g.Expect(west.c.Create(ctx, job)).To(Succeed())
			seen := map[string]bool{}
			for _, phase := range tc.phases {
				var p corev1.Pod
				g.Eventually(func() bool {
					var list corev1.PodList
					g.Expect(west.c.List(ctx, &list, client.InNamespace("default"),
						client.MatchingLabels{batchv1.ControllerUidLabel: string(job.UID)})).To(Succeed())
					for _, item := range list.Items {
						if !seen[item.Name] {
							p = item
							return true
						}
					}
					return false
				}).WithTimeout(10 * time.Second).WithPolling(poll).Should(BeTrue())
				seen[p.Name] = true
				g.Expect(p.Spec.NodeName).To(Equal("west-node"))
				g.Expect(metav1.IsControlledBy(&p, job)).To(BeTrue())
				p.Status.Phase = phase
				g.Expect(west.c.Status().Update(ctx, &p)).To(Succeed())
			}
			// kstatus reads a started Job as Current already: wait for the terminal condition.
			var j batchv1.Job
			g.Eventually(func() []batchv1.JobCondition {
				g.Expect(west.c.Get(ctx, client.ObjectKeyFromObject(job), &j)).To(Succeed())
				return j.Status.Conditions
			}).WithTimeout(10 * time.Second).WithPolling(poll).Should(ContainElement(And(
				HaveField("Type", tc.cond), HaveField("Status", corev1.ConditionTrue))))
			g.Expect(j.Status.Active).To(BeZero())
			g.Expect(j.Status.StartTime).NotTo(BeNil())
			raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&j)
			g.Expect(err).NotTo(HaveOccurred())
			u := &unstructured.Unstructured{Object: raw}
			u.SetAPIVersion("batch/v1")
			u.SetKind("Job")
			res, err := status.Compute(u)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Status).To(Equal(tc.want), res.Message)
			g.Expect(len(seen)).To(Equal(len(tc.phases)), "one pod per attempt")
		})
	}
}

// Deleting a Job ends as it does with the garbage collector: the Job goes whatever the
// propagation, and its pods go with it unless orphaned (batch/v1's default), which keeps them
// without the Job's reference.
func TestJobDeletion(t *testing.T) {
	requireEnv(t)
	west := env.west
	for _, tc := range []struct {
		name       string
		policy     *metav1.DeletionPropagation
		podRemains bool
	}{
		{"default orphans", nil, true},
		{"background", ptr.To(metav1.DeletePropagationBackground), false},
		{"foreground", ptr.To(metav1.DeletePropagationForeground), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := t.Context()
			job := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "gc-", Namespace: "default"},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "c", Image: "busybox", Command: []string{"true"}}}}}},
			}
			g.Expect(west.c.Create(ctx, job)).To(Succeed())
			var p corev1.Pod
			g.Eventually(func() int {
				var list corev1.PodList
				g.Expect(west.c.List(ctx, &list, client.InNamespace("default"),
					client.MatchingLabels{batchv1.ControllerUidLabel: string(job.UID)})).To(Succeed())
				if len(list.Items) > 0 {
					p = list.Items[0]
				}
				return len(list.Items)
			}).WithTimeout(10 * time.Second).WithPolling(poll).Should(Equal(1))
			// The test plays the kubelet: the pod succeeded (a terminal pod is deleted at once).
			p.Status.Phase = corev1.PodSucceeded
			g.Expect(west.c.Status().Update(ctx, &p)).To(Succeed())

			var opts []client.DeleteOption
			if tc.policy != nil {
				opts = append(opts, client.PropagationPolicy(*tc.policy))
			}
			g.Expect(west.c.Delete(ctx, job, opts...)).To(Succeed())
			g.Eventually(func() bool {
				return apierrors.IsNotFound(west.c.Get(ctx, client.ObjectKeyFromObject(job), &batchv1.Job{}))
			}).WithTimeout(10*time.Second).WithPolling(poll).Should(BeTrue(), "the Job is gone")
			if !tc.podRemains {
				g.Eventually(func() bool {
					return apierrors.IsNotFound(west.c.Get(ctx, client.ObjectKeyFromObject(&p), &corev1.Pod{}))
				}).WithTimeout(10*time.Second).WithPolling(poll).Should(BeTrue(), "the pod is gone")
				return
			}
			g.Eventually(func() []metav1.OwnerReference {
				g.Expect(west.c.Get(ctx, client.ObjectKeyFromObject(&p), &p)).To(Succeed())
				return p.OwnerReferences
			}).WithTimeout(10 * time.Second).WithPolling(poll).Should(BeEmpty())
			g.Consistently(func() error {
				return west.c.Get(ctx, client.ObjectKeyFromObject(&p), &corev1.Pod{})
			}).WithTimeout(time.Second).WithPolling(poll).Should(Succeed(), "an orphaned pod stays")
		})
	}
}
