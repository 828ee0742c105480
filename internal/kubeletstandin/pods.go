package kubeletstandin

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// statusRetry is how long the stand-in waits before writing a pod's status again after an error.
const statusRetry = time.Second

// podRun is a pod this stand-in runs: its containers' states so far.
type podRun struct {
	uid    types.UID
	cancel context.CancelFunc

	mu     sync.Mutex // one status write at a time, in order
	states map[string]corev1.ContainerState
	// exceeded is set when the pod's active deadline passed, before its containers are killed:
	// every status written from then on says DeadlineExceeded, as the kubelet's
	// active-deadline handler fails the pod before it kills the containers.
	exceeded bool
}

// reconcilePod does for one of the node's pods what the kubelet would (nextAction).
func (k *Kubelet) reconcilePod(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var pod corev1.Pod
	if err := k.pods.Get(ctx, req.NamespacedName, &pod); err != nil {
		if apierrors.IsNotFound(err) {
			k.endRun(req.NamespacedName, "")
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get pod %s on node %s: %w", req, k.opts.NodeName, err)
	}
	if pod.Spec.NodeName != k.opts.NodeName {
		return ctrl.Result{}, nil
	}
	if pod.DeletionTimestamp != nil {
		return ctrl.Result{}, k.finishDeletion(ctx, &pod)
	}
	k.mu.Lock()
	r := k.runs[req.NamespacedName]
	if r != nil && r.uid != pod.UID { // a new pod of the same name
		r.cancel()
		delete(k.runs, req.NamespacedName)
		r = nil
	}
	k.mu.Unlock()
	now := metav1.NewTime(k.opts.Clock.Now())
	var err error
	switch nextAction(&pod, r != nil) {
	case actReportRunning:
		err = k.writeStatus(ctx, &pod, alwaysStates(&pod, now), false)
	case actLost:
		k.log.Info("pod lost", "pod", req.String(), "reason", "started under an earlier stand-in")
		err = k.writeStatus(ctx, &pod, lostStates(&pod, now), false)
	case actRun:
		err = k.startRun(&pod)
	}
	if apierrors.IsConflict(err) {
		return ctrl.Result{}, nil // the cache is behind: the newer pod comes with its own event
	}
	return ctrl.Result{}, err
}

// finishDeletion kills a deleted pod's processes and confirms the deletion with a zero grace
// period, as the kubelet does once its containers stopped.
func (k *Kubelet) finishDeletion(ctx context.Context, pod *corev1.Pod) error {
	k.endRun(client.ObjectKeyFromObject(pod), pod.UID)
	err := k.api.Delete(ctx, pod, client.GracePeriodSeconds(0), client.Preconditions{UID: &pod.UID})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// endRun kills the processes of a pod's run, of any UID when uid is empty.
func (k *Kubelet) endRun(key types.NamespacedName, uid types.UID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if r := k.runs[key]; r != nil && (uid == "" || r.uid == uid) {
		r.cancel()
		delete(k.runs, key)
	}
}

// startRun runs a pod that runs to completion, once, in the background.
func (k *Kubelet) startRun(pod *corev1.Pod) error {
	key := client.ObjectKeyFromObject(pod)
	if err := os.MkdirAll(podDir(k.opts.WorkDir, pod.Namespace, pod.Name), 0o755); err != nil {
		return fmt.Errorf("run pod %s: %w", key, err)
	}
	if err := os.MkdirAll(logDir(k.opts.WorkDir, pod), 0o755); err != nil {
		return fmt.Errorf("run pod %s: %w", key, err)
	}
	// Bounded by MaxRunTime and by the pod's active deadline, counted from now: the pod starts now.
	limit, deadline := k.opts.MaxRunTime, false
	if ads := pod.Spec.ActiveDeadlineSeconds; ads != nil && time.Duration(*ads)*time.Second <= limit {
		limit, deadline = time.Duration(*ads)*time.Second, true
	}
	ctx, cancel := context.WithCancel(k.ctx)
	r := &podRun{uid: pod.UID, cancel: cancel, states: map[string]corev1.ContainerState{}}
	k.mu.Lock()
	k.runs[key] = r
	k.mu.Unlock()
	k.log.Info("pod started", "pod", key.String(), "containers", len(pod.Spec.Containers), "limit", limit)
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		defer cancel()
		k.runPod(ctx, pod, r, limit, deadline)
	}()
	return nil
}

// runPod runs the init containers one after the other, then the containers side by side, and
// reports each change of state. Past limit everything still running is killed; the pod then
// fails with DeadlineExceeded when limit is its active deadline.
func (k *Kubelet) runPod(ctx context.Context, pod *corev1.Pod, r *podRun, limit time.Duration, deadline bool) {
	key := client.ObjectKeyFromObject(pod)
	timer := k.opts.Clock.NewTimer(limit)
	defer timer.Stop()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	expired := make(chan struct{})
	go func() {
		select {
		case <-timer.C():
			if deadline {
				r.mu.Lock()
				r.exceeded = true
				r.mu.Unlock()
			}
			close(expired)
			cancel()
		case <-runCtx.Done():
		}
	}()
	k.report(ctx, pod, r, "", corev1.ContainerState{})
	for _, c := range pod.Spec.InitContainers {
		if isSidecar(c) {
			continue
		}
		if code := k.runContainer(ctx, runCtx, pod, r, c); code != 0 {
			break
		}
	}
	if initDone(pod, r) {
		var wg sync.WaitGroup
		for _, c := range pod.Spec.Containers {
			wg.Go(func() { k.runContainer(ctx, runCtx, pod, r, c) })
		}
		wg.Wait()
	}
	timedOut := false
	select {
	case <-expired:
		timedOut = true
	default:
	}
	if ctx.Err() != nil {
		return // deleted, or the stand-in stops: nobody to report to
	}
	if deadline && timedOut {
		k.report(ctx, pod, r, "", corev1.ContainerState{}) // containers that never started
	}
	k.log.Info("pod finished", "pod", key.String(), "timedOut", timedOut)
}

// initDone tells whether every init container the stand-in runs exited 0.
func initDone(pod *corev1.Pod, r *podRun) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range pod.Spec.InitContainers {
		if isSidecar(c) {
			continue
		}
		if s, ok := r.states[c.Name]; !ok || s.Terminated == nil || s.Terminated.ExitCode != 0 {
			return false
		}
	}
	return true
}

// runContainer runs one container's command and args as a process until it exits or runCtx
// ends, with its output in the pod's log directory, reports its states while ctx lasts, and
// returns its exit code (128 when it could not start).
func (k *Kubelet) runContainer(ctx, runCtx context.Context, pod *corev1.Pod, r *podRun, c corev1.Container) int {
	started := metav1.NewTime(k.opts.Clock.Now())
	k.report(ctx, pod, r, c.Name, corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}})
	code, err := k.runProcess(runCtx, pod, c)
	state := terminated(code, err, started, metav1.NewTime(k.opts.Clock.Now()))
	k.report(ctx, pod, r, c.Name, state)
	return int(state.Terminated.ExitCode)
}

func (k *Kubelet) runProcess(ctx context.Context, pod *corev1.Pod, c corev1.Container) (int, error) {
	if len(c.Command) == 0 {
		return 0, fmt.Errorf("container %s has no command: the stand-in runs no images", c.Name)
	}
	argv := append(append([]string{}, c.Command...), c.Args...)
	out, err := os.Create(filepath.Join(logDir(k.opts.WorkDir, pod), c.Name+".log"))
	if err != nil {
		return 0, err
	}
	defer func() { _ = out.Close() }()
	dir := podDir(k.opts.WorkDir, pod.Namespace, pod.Name)
	return run(ctx, process{argv: argv, dir: dir, env: environment(pod, &c, dir), stdout: out, stderr: out})
}

// report records a container's new state (none when container is empty) and writes the pod's
// status; a write that fails is tried again until it succeeds or the run ends. Once the pod's
// deadline passed, the status says so.
func (k *Kubelet) report(ctx context.Context, pod *corev1.Pod, r *podRun, container string, s corev1.ContainerState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if container != "" {
		r.states[container] = s
	}
	states, deadline := maps.Clone(r.states), r.exceeded
	if deadline {
		// What still runs was killed at the deadline: report it so.
		now := metav1.NewTime(k.opts.Clock.Now())
		for name, st := range states {
			if st.Running != nil {
				states[name] = terminated(137, nil, st.Running.StartedAt, now)
			}
		}
	}
	for ctx.Err() == nil {
		var fresh corev1.Pod
		err := k.api.Get(ctx, client.ObjectKeyFromObject(pod), &fresh)
		if apierrors.IsNotFound(err) || (err == nil && fresh.UID != pod.UID) {
			return
		}
		if err == nil {
			if err = k.writeStatus(ctx, &fresh, states, deadline); err == nil {
				return
			}
		}
		if !apierrors.IsConflict(err) {
			k.log.Error(err, "pod status not written", "pod", client.ObjectKeyFromObject(pod).String())
		}
		select {
		case <-ctx.Done():
		case <-k.opts.Clock.After(statusRetry):
		}
	}
}

// writeStatus writes the status podStatus decides for pod.
func (k *Kubelet) writeStatus(ctx context.Context, pod *corev1.Pod, states map[string]corev1.ContainerState, deadline bool) error {
	pod = pod.DeepCopy()
	pod.Status = podStatus(pod, states, deadline, metav1.NewTime(k.opts.Clock.Now()))
	if err := k.api.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
