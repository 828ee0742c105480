package longhornsim

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The workload readiness loop stands in for kube-controller-manager, which the test and
// sandbox clusters do not run: with no Deployment or StatefulSet controller, no Pod ever
// exists and a workload's status would never change. For each Deployment and StatefulSet it
// sets, WorkloadOptions.Delay after a change of its generation or replicas, the status those
// controllers would report once every replica is ready (observedGeneration, replicas,
// readyReplicas, ...), so that kstatus readiness gates can pass in end-to-end tests. Jobs are
// run by the Job stand-in (workload_job.go) when the loop has a node. It is no part of Longhorn.

// workloadSeen is when the loop first saw a workload's current generation and replicas.
type workloadSeen struct {
	generation int64
	replicas   int32
	at         time.Time
}

// wait returns how long the workload must still wait, recording a new generation.
func (s *Sim) workloadWait(key string, generation int64, replicas int32) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	seen, ok := s.workloads[key]
	if !ok || seen.generation != generation || seen.replicas != replicas {
		seen = workloadSeen{generation: generation, replicas: replicas, at: now}
		s.workloads[key] = seen
	}
	return s.opts.Workloads.Delay - now.Sub(seen.at)
}

func (s *Sim) reconcileDeployment(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if s.paused.Load() {
		return ctrl.Result{RequeueAfter: pausedRequeue}, nil
	}
	var d appsv1.Deployment
	if err := s.mgr.GetClient().Get(ctx, req.NamespacedName, &d); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	if d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas == replicas && d.Status.Replicas == replicas {
		return ctrl.Result{}, nil
	}
	if wait := s.workloadWait("Deployment/"+req.String(), d.Generation, replicas); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	orig := d.DeepCopy()
	now := metav1.NewTime(s.opts.Clock.Now())
	d.Status.ObservedGeneration = d.Generation
	d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = replicas, replicas, replicas, replicas
	d.Status.UnavailableReplicas = 0
	d.Status.Conditions = []appsv1.DeploymentCondition{
		{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
			Message: "Deployment has minimum availability.", LastUpdateTime: now, LastTransitionTime: now},
		{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable",
			Message: fmt.Sprintf("ReplicaSet %q has successfully progressed.", d.Name), LastUpdateTime: now, LastTransitionTime: now},
	}
	if err := s.mgr.GetClient().Status().Patch(ctx, &d, client.MergeFrom(orig)); err != nil {
		return ctrl.Result{}, fmt.Errorf("update status of deployment %s in cluster %s: %w", req, s.opts.Cluster, err)
	}
	s.log.Info("workload ready", "kind", "Deployment", "workload", req.String(), "replicas", replicas)
	return ctrl.Result{}, nil
}

func (s *Sim) reconcileStatefulSet(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if s.paused.Load() {
		return ctrl.Result{RequeueAfter: pausedRequeue}, nil
	}
	var st appsv1.StatefulSet
	if err := s.mgr.GetClient().Get(ctx, req.NamespacedName, &st); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	replicas := int32(1)
	if st.Spec.Replicas != nil {
		replicas = *st.Spec.Replicas
	}
	if st.Status.ObservedGeneration == st.Generation && st.Status.ReadyReplicas == replicas && st.Status.Replicas == replicas {
		return ctrl.Result{}, nil
	}
	if wait := s.workloadWait("StatefulSet/"+req.String(), st.Generation, replicas); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	orig := st.DeepCopy()
	revision := fmt.Sprintf("%s-%d", st.Name, st.Generation)
	st.Status.ObservedGeneration = st.Generation
	st.Status.Replicas, st.Status.ReadyReplicas, st.Status.CurrentReplicas = replicas, replicas, replicas
	st.Status.UpdatedReplicas, st.Status.AvailableReplicas = replicas, replicas
	st.Status.CurrentRevision, st.Status.UpdateRevision = revision, revision
	if err := s.mgr.GetClient().Status().Patch(ctx, &st, client.MergeFrom(orig)); err != nil {
		return ctrl.Result{}, fmt.Errorf("update status of statefulset %s in cluster %s: %w", req, s.opts.Cluster, err)
	}
	s.log.Info("workload ready", "kind", "StatefulSet", "workload", req.String(), "replicas", replicas)
	return ctrl.Result{}, nil
}
