package longhornsim

import (
	"context"
	"fmt"
	"maps"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// The Job stand-in. With WorkloadOptions.NodeName set, the workload loop also does what the
// Job controller of kube-controller-manager would for a batch/v1 Job, in its simplest form:
// one pod at a time from the Job's template, bound to the node (no scheduler runs), until
// spec.completions pods succeeded (the Job completes) or more than spec.backoffLimit failed
// (the Job fails with BackoffLimitExceeded), with the conditions, counters and times the Job
// controller of Kubernetes 1.34 writes and its API server validates: SuccessCriteriaMet then
// Complete with completionTime, FailureTarget then Failed, startTime from the first pass. The
// kubelet stand-in of that node (internal/kubeletstandin) runs the pods.
//
// It also does the garbage collector's part for Jobs, since none runs either: a Job deleted
// with propagation Orphan (batch/v1's default) or Foreground would otherwise keep its
// finalizer forever, and one deleted in the background would leave its pods behind. Foreground
// deletes the pods and then lifts the finalizer, Orphan takes the Job's reference off its pods
// and lifts it, and the pods of a Job that is gone are deleted.
//
// Not done: parallelism, the back-off delay between retries, Indexed completion mode (such
// Jobs are left alone, as are suspended ones), pod failure and success policies, the Job's
// activeDeadlineSeconds, pod finalizers, ttlSecondsAfterFinished.

// Reasons and messages of the Job controller (pkg/controller/job/job_controller.go).
const (
	messageCompletionsReached = "Reached expected number of succeeded pods"
	messageBackoffExceeded    = "Job has reached the specified backoff limit"
)

// defaultBackoffLimit is the API server's default spec.backoffLimit.
const defaultBackoffLimit = 6

// jobFinished tells whether a Job has its terminal condition.
func jobFinished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// jobProgress decides, without I/O, a Job's status from the pods it owns at now, and whether
// a new pod must start (counted as active in the status returned).
func jobProgress(job *batchv1.Job, pods []corev1.Pod, now metav1.Time) (batchv1.JobStatus, bool) {
	st := *job.Status.DeepCopy()
	if st.StartTime == nil {
		st.StartTime = &now
	}
	var active, ready, succeeded, failed int32
	for i := range pods {
		p := &pods[i]
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			succeeded++
		case p.Status.Phase == corev1.PodFailed:
			failed++
		case p.DeletionTimestamp != nil: // terminating: neither active nor done
		default:
			active++
			if podReady(p) {
				ready++
			}
		}
	}
	// The counters never go down, as the API server requires, even when pods are deleted.
	st.Succeeded, st.Failed = max(st.Succeeded, succeeded), max(st.Failed, failed)
	st.Active, st.Ready, st.Terminating = active, &ready, ptr.To[int32](0)
	st.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	create := false
	switch {
	case st.Failed > ptr.Deref(job.Spec.BackoffLimit, defaultBackoffLimit):
		setJobCondition(&st, batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, messageBackoffExceeded, now)
		setJobCondition(&st, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, messageBackoffExceeded, now)
	case st.Succeeded >= ptr.Deref(job.Spec.Completions, 1):
		setJobCondition(&st, batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, messageCompletionsReached, now)
		setJobCondition(&st, batchv1.JobComplete, batchv1.JobReasonCompletionsReached, messageCompletionsReached, now)
		if st.CompletionTime == nil {
			st.CompletionTime = &now
		}
	case active == 0:
		create = true
		st.Active = 1
	}
	return st, create
}

// setJobCondition sets a condition True, keeping it as it is when it already is.
func setJobCondition(st *batchv1.JobStatus, t batchv1.JobConditionType, reason, message string, now metav1.Time) {
	for _, c := range st.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return
		}
	}
	c := batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastProbeTime: now, LastTransitionTime: now}
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// jobPod is a new pod of job, from its template, bound to node and controlled by the Job.
func jobPod(job *batchv1.Job, node string) *corev1.Pod {
	t := job.Spec.Template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    job.Name + "-",
			Namespace:       job.Namespace,
			Labels:          maps.Clone(t.Labels),
			Annotations:     maps.Clone(t.Annotations),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: *t.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = node
	return pod
}

func (s *Sim) reconcileJob(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if s.paused.Load() {
		return ctrl.Result{RequeueAfter: pausedRequeue}, nil
	}
	// The Job and its pods are read from the API server, not the cache: a pod created and a
	// status written by the last pass are counted.
	var job batchv1.Job
	if err := s.api.Get(ctx, req.NamespacedName, &job); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, s.collectJobPods(ctx, req.Namespace, req.Name, "")
		}
		return ctrl.Result{}, fmt.Errorf("get job %s in cluster %s: %w", req, s.opts.Cluster, err)
	}
	if job.DeletionTimestamp != nil {
		return ctrl.Result{}, s.finalizeJob(ctx, &job)
	}
	if jobFinished(&job) || ptr.Deref(job.Spec.Suspend, false) ||
		ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) != batchv1.NonIndexedCompletion {
		return ctrl.Result{}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		// The API server validates selectors: nothing a retry would change.
		s.log.Error(err, "job selector invalid", "job", req.String())
		return ctrl.Result{}, nil
	}
	// A Job deleted and created again under its name leaves the old one's pods behind.
	if err := s.collectJobPods(ctx, job.Namespace, job.Name, job.UID); err != nil {
		return ctrl.Result{}, err
	}
	pods, err := s.jobPods(ctx, &job, client.MatchingLabelsSelector{Selector: sel})
	if err != nil {
		return ctrl.Result{}, err
	}
	status, create := jobProgress(&job, pods, metav1.NewTime(s.opts.Clock.Now()))
	if create {
		pod := jobPod(&job, s.opts.Workloads.NodeName)
		if err := s.api.Create(ctx, pod); err != nil {
			return ctrl.Result{}, fmt.Errorf("create pod of job %s in cluster %s: %w", req, s.opts.Cluster, err)
		}
		s.log.Info("job pod created", "job", req.String(), "pod", pod.Name, "node", pod.Spec.NodeName)
	}
	if equality.Semantic.DeepEqual(job.Status, status) {
		return ctrl.Result{}, nil
	}
	job.Status = status
	if err := s.api.Status().Update(ctx, &job); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil // changed or deleted meanwhile: its own event brings it back
		}
		return ctrl.Result{}, fmt.Errorf("update status of job %s in cluster %s: %w", req, s.opts.Cluster, err)
	}
	if jobFinished(&job) {
		s.log.Info("job finished", "job", req.String(), "succeeded", status.Succeeded, "failed", status.Failed)
	}
	return ctrl.Result{}, nil
}

// namedJobPods lists, from the API server, the pods of namespace matching sel whose
// controller is a Job named name, of any UID.
func (s *Sim) namedJobPods(ctx context.Context, namespace, name string, sel client.ListOption) ([]corev1.Pod, error) {
	var list corev1.PodList
	if err := s.api.List(ctx, &list, client.InNamespace(namespace), sel); err != nil {
		return nil, fmt.Errorf("list pods of job %s/%s in cluster %s: %w", namespace, name, s.opts.Cluster, err)
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.Kind == "Job" && ref.Name == name {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// jobPods lists the pods matching sel that job controls.
func (s *Sim) jobPods(ctx context.Context, job *batchv1.Job, sel client.ListOption) ([]corev1.Pod, error) {
	pods, err := s.namedJobPods(ctx, job.Namespace, job.Name, sel)
	return slices.DeleteFunc(pods, func(p corev1.Pod) bool { return !metav1.IsControlledBy(&p, job) }), err
}

// collectJobPods deletes the pods of the Jobs named name that are gone (all but the one of UID
// keep), as the garbage collector does.
func (s *Sim) collectJobPods(ctx context.Context, namespace, name string, keep types.UID) error {
	pods, err := s.namedJobPods(ctx, namespace, name, client.MatchingLabels{batchv1.JobNameLabel: name})
	if err != nil {
		return err
	}
	for i := range pods {
		p := &pods[i]
		if metav1.GetControllerOf(p).UID == keep || p.DeletionTimestamp != nil {
			continue
		}
		if err := s.api.Delete(ctx, p, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete pod %s of deleted job %s/%s in cluster %s: %w", p.Name, namespace, name, s.opts.Cluster, err)
		}
		s.log.Info("pod of deleted job deleted", "job", namespace+"/"+name, "pod", p.Name)
	}
	return nil
}

// finalizeJob does what the garbage collector does for a Job being deleted with a
// finalizer: deletes its pods (foregroundDeletion) or takes its reference off them (orphan),
// then lifts the finalizer. A pod still terminating brings the Job back here when it goes.
func (s *Sim) finalizeJob(ctx context.Context, job *batchv1.Job) error {
	fg := controllerutil.ContainsFinalizer(job, metav1.FinalizerDeleteDependents)
	orphan := controllerutil.ContainsFinalizer(job, metav1.FinalizerOrphanDependents)
	if !fg && !orphan {
		return nil
	}
	pods, err := s.jobPods(ctx, job, client.MatchingLabels{batchv1.JobNameLabel: job.Name})
	if err != nil {
		return err
	}
	for i := range pods {
		p := &pods[i]
		if fg {
			if p.DeletionTimestamp != nil {
				continue
			}
			if err := s.api.Delete(ctx, p, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete pod %s of job %s/%s in cluster %s: %w", p.Name, job.Namespace, job.Name, s.opts.Cluster, err)
			}
			continue
		}
		orig := p.DeepCopy()
		p.OwnerReferences = slices.DeleteFunc(p.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == job.UID })
		if err := s.api.Patch(ctx, p, client.MergeFrom(orig)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("orphan pod %s of job %s/%s in cluster %s: %w", p.Name, job.Namespace, job.Name, s.opts.Cluster, err)
		}
	}
	if fg && len(pods) > 0 {
		return nil // lifted once the pods are gone
	}
	orig := job.DeepCopy()
	controllerutil.RemoveFinalizer(job, metav1.FinalizerDeleteDependents)
	controllerutil.RemoveFinalizer(job, metav1.FinalizerOrphanDependents)
	if err := s.api.Patch(ctx, job, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("finalize job %s/%s in cluster %s: %w", job.Namespace, job.Name, s.opts.Cluster, err)
	}
	s.log.Info("job deleted", "job", client.ObjectKeyFromObject(job).String(), "pods", len(pods), "orphaned", orphan && !fg)
	return nil
}
