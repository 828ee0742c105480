package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/plans"
)

// AnnotationReplicasBefore is the annotation, on a workload a pre scaleToZero hook scaled down,
// that holds the number of replicas it had before. It is written before the workload is scaled to zero and removed after
// it is scaled back: drplan owns it.
const AnnotationReplicasBefore = "drplan.io/replicas-before-hook"

// pollInterval is how often a scaleToZero hook looks whether its workload has no replicas left.
const pollInterval = 500 * time.Millisecond

// appsKinds are the built-in kinds with a scale subresource, in apps/v1.
var appsKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "ReplicaSet": true}

// scaleToZero records the workload's replicas in its annotation, scales it to zero and waits
// until it has none. A workload already at zero with the annotation (a run that did not scale
// it back) keeps the annotation's count. scaled is whether the annotation is there, so that the
// workload must be scaled back.
func (r *Runner) scaleToZero(ctx context.Context, ref plans.WorkloadRef, timeout time.Duration) (scaled bool, output string, err error) {
	id := describe(ref)
	u := workload(ref)
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		return false, "", fmt.Errorf("get %s: %w", id, err)
	}
	replicas, _, err := r.scale(ctx, u)
	if err != nil {
		return false, "", fmt.Errorf("get scale of %s: %w", id, err)
	}
	before := replicas
	recorded, ok := u.GetAnnotations()[AnnotationReplicasBefore]
	if ok && replicas == 0 {
		if before, err = parseReplicas(recorded); err != nil {
			return false, "", fmt.Errorf("%s: %w", id, err)
		}
	}
	if want := strconv.FormatInt(before, 10); !ok || recorded != want {
		if err := r.setAnnotation(ctx, u, &want); err != nil {
			return false, "", fmt.Errorf("record replicas of %s: %w", id, err)
		}
	}
	if replicas != 0 {
		if err := r.setReplicas(ctx, u, 0); err != nil {
			return true, "", fmt.Errorf("scale %s to 0: %w", id, err)
		}
	}

	var left int64
	var lastErr error
	err = wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		_, left, lastErr = r.scale(ctx, u)
		return lastErr == nil && left == 0, nil
	})
	switch {
	case err == nil:
		return true, fmt.Sprintf("%s scaled from %d to 0 replicas", id, before), nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && lastErr != nil:
		return true, "", fmt.Errorf("%w after %s waiting for %s to have no replicas: %w", ErrTimeout, timeout, id, lastErr)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return true, "", fmt.Errorf("%w after %s waiting for %s to have no replicas (%d left)", ErrTimeout, timeout, id, left)
	}
	return true, "", fmt.Errorf("wait for %s to have no replicas: %w", id, err)
}

// scaleBack sets the workload's replicas to its annotation's count, then removes the
// annotation. A workload without the annotation is left alone.
func (r *Runner) scaleBack(ctx context.Context, ref plans.WorkloadRef) (output string, err error) {
	id := describe(ref)
	u := workload(ref)
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		return "", fmt.Errorf("get %s: %w", id, err)
	}
	recorded, ok := u.GetAnnotations()[AnnotationReplicasBefore]
	if !ok {
		return fmt.Sprintf("%s has no %s annotation: nothing to scale back", id, AnnotationReplicasBefore), nil
	}
	n, err := parseReplicas(recorded)
	if err != nil {
		return "", fmt.Errorf("%s: %w", id, err)
	}
	if err := r.setReplicas(ctx, u, n); err != nil {
		return "", fmt.Errorf("scale %s back to %d: %w", id, n, err)
	}
	if err := r.setAnnotation(ctx, u, nil); err != nil {
		return "", fmt.Errorf("remove annotation %s of %s: %w", AnnotationReplicasBefore, id, err)
	}
	return fmt.Sprintf("%s scaled back to %d replicas", id, n), nil
}

// scale reads the workload's scale subresource: spec.replicas and status.replicas, absent
// counting as zero.
func (r *Runner) scale(ctx context.Context, u *unstructured.Unstructured) (spec, status int64, err error) {
	s := &unstructured.Unstructured{}
	if err := r.Client.SubResource("scale").Get(ctx, u, s); err != nil {
		return 0, 0, err
	}
	spec, _, _ = unstructured.NestedInt64(s.Object, "spec", "replicas")
	status, _, _ = unstructured.NestedInt64(s.Object, "status", "replicas")
	return spec, status, nil
}

// setReplicas sets spec.replicas through the scale subresource, which every scalable kind has.
func (r *Runner) setReplicas(ctx context.Context, u *unstructured.Unstructured, n int64) error {
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"replicas": n}})
	if err != nil {
		return fmt.Errorf("marshal patch: %w", err)
	}
	return r.Client.SubResource("scale").Patch(ctx, u, client.RawPatch(types.MergePatchType, patch),
		client.FieldOwner(FieldManager), client.WithSubResourceBody(&unstructured.Unstructured{}))
}

// setAnnotation sets AnnotationReplicasBefore to *v with a merge patch, or removes it when v
// is nil.
func (r *Runner) setAnnotation(ctx context.Context, u *unstructured.Unstructured, v *string) error {
	var value any
	if v != nil {
		value = *v
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{AnnotationReplicasBefore: value}}})
	if err != nil {
		return fmt.Errorf("marshal patch: %w", err)
	}
	return r.Client.Patch(ctx, u, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldManager))
}

// workload is an empty object naming the workload, apps/v1 when the API version is left out of
// a built-in kind.
func workload(ref plans.WorkloadRef) *unstructured.Unstructured {
	apiVersion := ref.APIVersion
	if apiVersion == "" && appsKinds[ref.Kind] {
		apiVersion = "apps/v1"
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(ref.Kind)
	u.SetNamespace(ref.Namespace)
	u.SetName(ref.Name)
	return u
}

func describe(ref plans.WorkloadRef) string {
	return fmt.Sprintf("%s %s/%s", ref.Kind, ref.Namespace, ref.Name)
}

func parseReplicas(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("annotation %s is %q, not a number of replicas", AnnotationReplicasBefore, s)
	}
	return n, nil
}
