package kubeletstandin

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func testPod(policy corev1.RestartPolicy, containers ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Generation: 2},
		Spec:       corev1.PodSpec{NodeName: "n", RestartPolicy: policy},
		Status:     corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort},
	}
	for _, c := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c, Image: "busybox"})
	}
	return pod
}

func TestNextAction(t *testing.T) {
	now := metav1.NewTime(time.Unix(1000, 0))
	running := testPod(corev1.RestartPolicyAlways, "a")
	running.Status = podStatus(running, alwaysStates(running, now), false, now)
	started := testPod(corev1.RestartPolicyNever, "a")
	started.Status.StartTime = &now
	done := testPod(corev1.RestartPolicyNever, "a")
	done.Status.Phase = corev1.PodSucceeded
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		running bool
		want    podAction
	}{
		{"always, new", testPod(corev1.RestartPolicyAlways, "a"), false, actReportRunning},
		{"always, reported", running, false, actNone},
		{"never, new", testPod(corev1.RestartPolicyNever, "a"), false, actRun},
		{"on failure, new", testPod(corev1.RestartPolicyOnFailure, "a"), false, actRun},
		{"never, running here", started, true, actNone},
		{"never, started before", started, false, actLost},
		{"terminal", done, false, actNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(nextAction(tc.pod, tc.running)).To(Equal(tc.want))
		})
	}
}

func TestPodStatus(t *testing.T) {
	t0, t1 := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(1005, 0))
	run := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t0}}
	ok := terminated(0, nil, t0, t1)
	bad := terminated(3, nil, t0, t1)
	withInit := testPod(corev1.RestartPolicyNever, "a")
	withInit.Spec.InitContainers = []corev1.Container{{Name: "i", Image: "busybox"}}
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		states   map[string]corev1.ContainerState
		deadline bool
		phase    corev1.PodPhase
		ready    corev1.ConditionStatus
		reason   string // of Ready
	}{
		{"not started", testPod(corev1.RestartPolicyNever, "a"), nil, false, corev1.PodPending, corev1.ConditionFalse, reasonContainersNotReady},
		{"running", testPod(corev1.RestartPolicyNever, "a", "b"), map[string]corev1.ContainerState{"a": run, "b": run}, false, corev1.PodRunning, corev1.ConditionTrue, ""},
		{"one done, one running", testPod(corev1.RestartPolicyNever, "a", "b"), map[string]corev1.ContainerState{"a": ok, "b": run}, false, corev1.PodRunning, corev1.ConditionFalse, reasonContainersNotReady},
		{"succeeded", testPod(corev1.RestartPolicyNever, "a", "b"), map[string]corev1.ContainerState{"a": ok, "b": ok}, false, corev1.PodSucceeded, corev1.ConditionFalse, reasonPodCompleted},
		{"failed", testPod(corev1.RestartPolicyNever, "a", "b"), map[string]corev1.ContainerState{"a": ok, "b": bad}, false, corev1.PodFailed, corev1.ConditionFalse, reasonPodFailed},
		{"deadline", testPod(corev1.RestartPolicyNever, "a"), map[string]corev1.ContainerState{"a": terminated(137, nil, t0, t1)}, true, corev1.PodFailed, corev1.ConditionFalse, reasonPodFailed},
		{"init running", withInit, map[string]corev1.ContainerState{"i": run}, false, corev1.PodPending, corev1.ConditionFalse, reasonContainersNotReady},
		{"init failed", withInit, map[string]corev1.ContainerState{"i": bad}, false, corev1.PodFailed, corev1.ConditionFalse, reasonPodFailed},
		{"init done", withInit, map[string]corev1.ContainerState{"i": ok, "a": run}, false, corev1.PodRunning, corev1.ConditionTrue, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			st := podStatus(tc.pod, tc.states, tc.deadline, t1)
			g.Expect(st.Phase).To(Equal(tc.phase))
			g.Expect(st.QOSClass).To(Equal(corev1.PodQOSBestEffort), "fields the kubelet does not own are kept")
			g.Expect(st.PodIP).To(Equal("127.0.0.1"))
			g.Expect(st.StartTime).NotTo(BeNil())
			g.Expect(st.ContainerStatuses).To(HaveLen(len(tc.pod.Spec.Containers)))
			g.Expect(st.InitContainerStatuses).To(HaveLen(len(tc.pod.Spec.InitContainers)))
			cond := func(ct corev1.PodConditionType) corev1.PodCondition {
				for _, c := range st.Conditions {
					if c.Type == ct {
						return c
					}
				}
				t.Fatalf("no condition %s", ct)
				return corev1.PodCondition{}
			}
			g.Expect(cond(corev1.PodReady).Status).To(Equal(tc.ready))
			g.Expect(cond(corev1.PodReady).Reason).To(Equal(tc.reason))
			g.Expect(cond(corev1.ContainersReady).Status).To(Equal(tc.ready))
			g.Expect(cond(corev1.PodScheduled).Status).To(Equal(corev1.ConditionTrue))
			g.Expect(cond(corev1.PodReady).ObservedGeneration).To(Equal(int64(2)))
			if tc.deadline {
				g.Expect(st.Reason).To(Equal(reasonDeadlineExceeded))
			}
		})
	}
}

// A container that could not start is terminated with the runtime's StartError and code 128.
func TestTerminated(t *testing.T) {
	g := NewWithT(t)
	t0 := metav1.NewTime(time.Unix(1000, 0))
	g.Expect(terminated(0, nil, t0, t0).Terminated.Reason).To(Equal(reasonCompleted))
	g.Expect(terminated(2, nil, t0, t0).Terminated.Reason).To(Equal(reasonError))
	s := terminated(0, errors.New("no command"), t0, t0).Terminated
	g.Expect(s.Reason).To(Equal(reasonStartError))
	g.Expect(s.ExitCode).To(Equal(int32(128)))
	g.Expect(s.Message).To(Equal("no command"))
}

// A pod reported running keeps its containers' start times and its conditions' transition
// times when reported again.
func TestAlwaysStatesStable(t *testing.T) {
	g := NewWithT(t)
	t0, t1 := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(2000, 0))
	pod := testPod(corev1.RestartPolicyAlways, "a")
	pod.Spec.InitContainers = []corev1.Container{{Name: "i"}, {Name: "sidecar", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
	pod.Status = podStatus(pod, alwaysStates(pod, t0), false, t0)
	g.Expect(reportedRunning(pod)).To(BeTrue())
	again := podStatus(pod, alwaysStates(pod, t1), false, t1)
	g.Expect(again.ContainerStatuses[0].State.Running.StartedAt).To(Equal(t0))
	for _, c := range again.Conditions {
		g.Expect(c.LastTransitionTime).To(Equal(t0), string(c.Type))
	}
}

func TestEnvironment(t *testing.T) {
	g := NewWithT(t)
	pod := testPod(corev1.RestartPolicyNever, "a")
	c := &corev1.Container{Name: "a", Env: []corev1.EnvVar{
		{Name: "FOO", Value: "bar"},
		{Name: "FROM", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "POD_NAME", Value: "overridden"},
	}}
	env := environment(pod, c, "/w/ns/p")
	g.Expect(env).To(ContainElements("HOME=/w/ns/p", "FOO=bar", "POD_NAMESPACE=ns", "CONTAINER_NAME=a"))
	g.Expect(env).NotTo(ContainElement(HavePrefix("FROM=")))
	g.Expect(env[len(env)-3]).To(Equal("POD_NAME=p"), "the stand-in's variables come last and win")
}
