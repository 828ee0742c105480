package kubeletstandin

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The pod status the stand-in reports, decided without I/O from the pod and what became of its
// containers, with the kubelet's reasons (pkg/kubelet/status/generate.go, active_deadline.go).

// loopback is the node's address and every pod's IP.
const loopback = "127.0.0.1"

// Reasons and messages the kubelet writes.
const (
	reasonPodCompleted        = "PodCompleted"
	reasonPodFailed           = "PodFailed"
	reasonContainersNotReady  = "ContainersNotReady"
	reasonNotInitialized      = "ContainersNotInitialized"
	reasonPodInitializing     = "PodInitializing"
	reasonContainerCreating   = "ContainerCreating"
	reasonCompleted           = "Completed"
	reasonError               = "Error"
	reasonStartError          = "StartError"
	reasonDeadlineExceeded    = "DeadlineExceeded"
	messageDeadlineExceeded   = "Pod was active on the node longer than the specified deadline"
	reasonContainerStatusLost = "ContainerStatusUnknown"
	messageContainerLost      = "The container could not be located when the pod was terminated"
)

// podAction is what the stand-in does for a pod bound to its node.
type podAction int

const (
	// actNone: nothing to do (terminal, already reported, or running in this process).
	actNone podAction = iota
	// actReportRunning: a pod that restarts always: report it running, run nothing.
	actReportRunning
	// actRun: a pod that runs to completion and has not started: run it once.
	actRun
	// actLost: a pod that started under an earlier stand-in, whose processes died with it.
	actLost
)

// nextAction decides what to do for pod; running tells whether this stand-in runs it now.
func nextAction(pod *corev1.Pod, running bool) podAction {
	switch {
	case isTerminal(pod.Status.Phase), running:
		return actNone
	case pod.Spec.RestartPolicy == corev1.RestartPolicyAlways || pod.Spec.RestartPolicy == "":
		if reportedRunning(pod) {
			return actNone
		}
		return actReportRunning
	case pod.Status.StartTime != nil:
		return actLost
	default:
		return actRun
	}
}

func isTerminal(phase corev1.PodPhase) bool {
	return phase == corev1.PodSucceeded || phase == corev1.PodFailed
}

// reportedRunning tells whether pod's status already says Running with every container
// running and ready.
func reportedRunning(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" {
		return false
	}
	for _, c := range pod.Spec.Containers {
		s := findStatus(pod.Status.ContainerStatuses, c.Name)
		if s == nil || s.State.Running == nil || !s.Ready {
			return false
		}
	}
	return true
}

// alwaysStates are the container states of a pod reported running: init containers completed,
// containers running, since the time a container already reports or now.
func alwaysStates(pod *corev1.Pod, now metav1.Time) map[string]corev1.ContainerState {
	states := map[string]corev1.ContainerState{}
	for _, c := range pod.Spec.InitContainers {
		if s := findStatus(pod.Status.InitContainerStatuses, c.Name); s != nil && s.State.Terminated != nil {
			states[c.Name] = s.State
			continue
		}
		states[c.Name] = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: reasonCompleted, StartedAt: now, FinishedAt: now}}
	}
	for _, c := range pod.Spec.Containers {
		if s := findStatus(pod.Status.ContainerStatuses, c.Name); s != nil && s.State.Running != nil {
			states[c.Name] = s.State
			continue
		}
		states[c.Name] = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
	}
	return states
}

// lostStates are the states of a pod's containers when the stand-in that ran them is gone: those
// that finished keep their state, the others are terminated with status unknown, as the kubelet
// reports a container it cannot find.
func lostStates(pod *corev1.Pod, now metav1.Time) map[string]corev1.ContainerState {
	states := map[string]corev1.ContainerState{}
	mark := func(cs []corev1.Container, statuses []corev1.ContainerStatus) {
		for _, c := range cs {
			if s := findStatus(statuses, c.Name); s != nil && s.State.Terminated != nil {
				states[c.Name] = s.State
				continue
			}
			states[c.Name] = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 137, Reason: reasonContainerStatusLost, Message: messageContainerLost, FinishedAt: now}}
		}
	}
	mark(pod.Spec.InitContainers, pod.Status.InitContainerStatuses)
	mark(pod.Spec.Containers, pod.Status.ContainerStatuses)
	return states
}

// terminated is the state of a container whose process exited with code, or could not start
// (startErr).
func terminated(code int, startErr error, started, finished metav1.Time) corev1.ContainerState {
	t := &corev1.ContainerStateTerminated{ExitCode: int32(code), StartedAt: started, FinishedAt: finished}
	switch {
	case startErr != nil:
		t.ExitCode, t.Reason, t.Message = 128, reasonStartError, startErr.Error()
	case code == 0:
		t.Reason = reasonCompleted
	default:
		t.Reason = reasonError
	}
	return corev1.ContainerState{Terminated: t}
}

// podStatus is the status of pod given its containers' states by name (a container missing
// has not started); deadline says the pod was stopped at its active deadline. The fields the
// kubelet does not own (qosClass, resize, other conditions) are kept.
func podStatus(pod *corev1.Pod, states map[string]corev1.ContainerState, deadline bool, now metav1.Time) corev1.PodStatus {
	st := *pod.Status.DeepCopy()
	initDone, initFailed := true, false
	st.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		s, ok := states[c.Name]
		switch {
		case isSidecar(c): // not run, and not waited for
		case !ok || s.Terminated == nil:
			initDone = false
		case s.Terminated.ExitCode != 0:
			initDone, initFailed = false, true
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, containerStatus(pod, c, s, ok, reasonPodInitializing))
	}
	waiting := reasonContainerCreating
	if !initDone {
		waiting = reasonPodInitializing
	}
	allDone, allZero, anyRunning := true, true, false
	var unready []string
	st.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		s, ok := states[c.Name]
		cs := containerStatus(pod, c, s, ok, waiting)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			unready = append(unready, c.Name)
		}
		switch {
		case s.Running != nil:
			anyRunning, allDone = true, false
		case s.Terminated != nil:
			allZero = allZero && s.Terminated.ExitCode == 0
		default:
			allDone = false
		}
	}

	switch {
	case deadline, initFailed, allDone && !allZero:
		st.Phase = corev1.PodFailed
	case allDone:
		st.Phase = corev1.PodSucceeded
	case initDone && anyRunning:
		st.Phase = corev1.PodRunning
	default:
		st.Phase = corev1.PodPending
	}
	st.Reason, st.Message = "", ""
	if deadline {
		st.Reason, st.Message = reasonDeadlineExceeded, messageDeadlineExceeded
	}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	st.HostIP, st.HostIPs = loopback, []corev1.HostIP{{IP: loopback}}
	st.PodIP, st.PodIPs = loopback, []corev1.PodIP{{IP: loopback}}
	st.ObservedGeneration = pod.Generation

	terminal := isTerminal(st.Phase)
	ready := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
	switch {
	case st.Phase == corev1.PodSucceeded:
		ready.Status, ready.Reason = corev1.ConditionFalse, reasonPodCompleted
	case st.Phase == corev1.PodFailed:
		ready.Status, ready.Reason = corev1.ConditionFalse, reasonPodFailed
	case len(unready) > 0:
		ready.Status, ready.Reason = corev1.ConditionFalse, reasonContainersNotReady
		ready.Message = fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	}
	podReady := ready
	podReady.Type = corev1.PodReady
	initialized := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if !initDone {
		initialized.Status, initialized.Reason = corev1.ConditionFalse, reasonNotInitialized
	}
	sandbox := corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue}
	if terminal {
		sandbox.Status = corev1.ConditionFalse
	}
	scheduled := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}
	for _, c := range []corev1.PodCondition{sandbox, initialized, ready, podReady, scheduled} {
		setCondition(&st, c, pod.Generation, now)
	}
	return st
}

// containerStatus is the status of container c in state s; a container not started (ok false)
// waits with reason waiting.
func containerStatus(pod *corev1.Pod, c corev1.Container, s corev1.ContainerState, ok bool, waiting string) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image}
	if !ok {
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting}}
		cs.Started = ptr.To(false)
		return cs
	}
	cs.State = s
	cs.ContainerID = containerID(pod, c.Name)
	cs.Ready = s.Running != nil
	cs.Started = ptr.To(s.Running != nil)
	return cs
}

// containerID names a container the stand-in ran, in the kubelet's <runtime>://<id> form.
func containerID(pod *corev1.Pod, container string) string {
	return "standin://" + string(pod.UID) + "/" + container
}

// setCondition sets a condition of st, keeping its transition time when its status did not change.
func setCondition(st *corev1.PodStatus, c corev1.PodCondition, generation int64, now metav1.Time) {
	c.ObservedGeneration = generation
	c.LastTransitionTime = now
	for i := range st.Conditions {
		if st.Conditions[i].Type != c.Type {
			continue
		}
		if st.Conditions[i].Status == c.Status {
			c.LastTransitionTime = st.Conditions[i].LastTransitionTime
		}
		st.Conditions[i] = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}

// isSidecar tells whether init container c is a sidecar (restartPolicy Always), which the
// stand-in does not run.
func isSidecar(c corev1.Container) bool {
	return ptr.Deref(c.RestartPolicy, "") == corev1.ContainerRestartPolicyAlways
}

func findStatus(statuses []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range statuses {
		if statuses[i].Name == name {
			return &statuses[i]
		}
	}
	return nil
}

// findContainer returns the container or init container of pod named name.
func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	return nil
}

// containerRunning tells whether pod's status reports container name running.
func containerRunning(pod *corev1.Pod, name string) bool {
	if isTerminal(pod.Status.Phase) {
		return false
	}
	for _, statuses := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		if s := findStatus(statuses, name); s != nil {
			return s.State.Running != nil
		}
	}
	return false
}
