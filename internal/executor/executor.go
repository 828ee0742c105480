package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planner"
)

// FieldManager is the server-side apply field manager of everything drplan writes.
const FieldManager = planner.ManagedByValue

// Cluster is what the executor needs of a cluster connection.
type Cluster interface {
	Client() client.Client
	// MarkFailed tells the connection a request failed at the transport level.
	MarkFailed(err error)
}

// Recorder records a Kubernetes Event on an object a pass changed.
type Recorder interface {
	Event(cluster string, obj runtime.Object, reason, message string)
}

// Options shape an Executor.
type Options struct {
	// Clusters by name.
	Clusters map[string]Cluster
	// Concurrency bounds the actions in flight. Default 8.
	Concurrency int
	// Recorder, when set, records an Event per action done.
	Recorder Recorder
}

// Executor carries out actions.
type Executor struct {
	opts  Options
	hooks hookFailures
}

// New returns an Executor.
func New(opts Options) *Executor {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	return &Executor{opts: opts}
}

// Outcome is what became of one action.
type Outcome struct {
	Action   planner.Action
	Err      error
	Duration time.Duration
}

// Execute runs every action and returns their outcomes in the actions' order.
func (e *Executor) Execute(ctx context.Context, actions []planner.Action) []Outcome {
	out := make([]Outcome, len(actions))
	sem := make(chan struct{}, e.opts.Concurrency)
	var wg sync.WaitGroup
	for i, a := range actions {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			start := time.Now()
			err := e.do(ctx, a)
			out[i] = Outcome{Action: a, Err: err, Duration: time.Since(start)}
		}()
	}
	wg.Wait()
	return out
}

// Errors joins the errors of outcomes.
func Errors(outcomes []Outcome) error {
	var errs []error
	for _, o := range outcomes {
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	return errors.Join(errs...)
}

func (e *Executor) do(ctx context.Context, a planner.Action) error {
	log := logr.FromContextOrDiscard(ctx)
	c, ok := e.opts.Clusters[a.Cluster()]
	if !ok {
		return fmt.Errorf("%s: cluster %s is not configured", a, a.Cluster())
	}
	var (
		obj    client.Object
		reason string
		err    error
	)
	switch a := a.(type) {
	case *planner.ApplyRecurringJob:
		obj, reason = a.Job, "RecurringJobApplied"
		err = applyJob(ctx, c.Client(), a.Job)
	case *planner.PatchVolumeLabels:
		obj, reason = &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: a.Volume, Namespace: a.Namespace}}, "VolumeLabelled"
		if a.Claim != nil {
			// The claim first: with recurring-job.longhorn.io/source=enabled it owns the volume's
			// job labels, and Longhorn copies them from it onto the volume.
			pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: a.Claim.Name, Namespace: a.Claim.Namespace}}
			if err = patchLabels(ctx, c.Client(), pvc, a.Set, a.Remove); apierrors.IsNotFound(err) {
				err = nil // gone since Longhorn saw it: the volume's labels are all there is
			}
			if err != nil {
				err = fmt.Errorf("claim %s/%s: %w", a.Claim.Namespace, a.Claim.Name, err)
				break
			}
		}
		err = patchLabels(ctx, c.Client(), obj, a.Set, a.Remove)
	case *planner.CreateStandbyVolume:
		obj, reason = a.Volume.DeepCopy(), "StandbyVolumeCreated"
		if a.Volume.Labels[planner.LabelDrill] != "" {
			reason = "DrillVolumeCreated"
		}
		err = c.Client().Create(ctx, obj, client.FieldOwner(FieldManager))
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	case *planner.ClaimPlan:
		obj, reason = a.Claim.DeepCopy(), "PlanClaimed"
		// One that exists already is another shard's (or this one's, seen next pass): the
		// planner reads whose.
		err = ignoreExists(c.Client().Create(ctx, obj, client.FieldOwner(FieldManager)))
	case *planner.ReleaseClaim:
		obj, reason = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: a.Namespace}}, "PlanClaimReleased"
		err = client.IgnoreNotFound(c.Client().Delete(ctx, obj, client.Preconditions{ResourceVersion: &a.ResourceVersion}))
		if apierrors.IsConflict(err) {
			err = errSuperseded
		}
	case *planner.TakeSnapshots:
		reason = "HookedSnapshotsTaken"
		obj, err = e.takeSnapshots(ctx, c, a)
	case *planner.RequestSync:
		reason = "SyncRequested"
		switch a.Kind {
		case planner.SyncBackupVolume:
			obj = &longhorn.BackupVolume{ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: a.Namespace}}
		default:
			obj = &longhorn.BackupTarget{ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: a.Namespace}}
		}
		err = mergePatch(ctx, c.Client(), obj, map[string]any{"spec": map[string]any{"syncRequestedAt": a.At.UTC().Format(time.RFC3339)}})
	default:
		var handled bool
		if obj, reason, handled, err = doFailover(ctx, c.Client(), a); !handled {
			if obj, reason, handled, err = doObjects(ctx, c.Client(), a); !handled {
				return fmt.Errorf("%s: unknown action %T", a, a)
			}
		}
	}
	if errors.Is(err, errSuperseded) {
		log.V(1).Info("action superseded: the next pass decides again", "cluster", a.Cluster(), "plan", a.Plan(), "action", a.String())
		return nil
	}
	if err != nil {
		if isTransport(err) {
			c.MarkFailed(err)
		}
		return fmt.Errorf("%s in cluster %s: %w%s", a, a.Cluster(), err, hint(a, err))
	}
	// The audit line: one per write, with the object, the field manager and the reason; the
	// caller's logger carries the revision.
	log.Info("action done", "cluster", a.Cluster(), "plan", a.Plan(), "action", a.String(),
		"object", objectRef(c.Client(), obj), "fieldManager", FieldManager, "reason", reason)
	if e.opts.Recorder != nil {
		e.opts.Recorder.Event(a.Cluster(), obj, reason, fmt.Sprintf("drplan plan %s: %s", a.Plan(), a))
	}
	return nil
}

// objectRef names obj as Kind namespace/name for the audit line.
func objectRef(c client.Client, obj client.Object) string {
	if obj == nil {
		return ""
	}
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		if gvk, err := apiutil.GVKForObject(obj, c.Scheme()); err == nil {
			kind = gvk.Kind
		}
	}
	name := obj.GetName()
	if ns := obj.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return strings.TrimSpace(kind + " " + name)
}

// applyJob server-side applies the RecurringJob with drplan's field manager, taking ownership of
// the fields it sets.
func applyJob(ctx context.Context, c client.Client, job *longhorn.RecurringJob) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(job)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	u := &unstructured.Unstructured{Object: m}
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership)
}

// patchLabels sets and removes labels with a merge patch, touching no other field.
func patchLabels(ctx context.Context, c client.Client, obj client.Object, set map[string]string, remove []string) error {
	labels := map[string]any{}
	for k, v := range set {
		labels[k] = v
	}
	for _, k := range remove {
		labels[k] = nil
	}
	return mergePatch(ctx, c, obj, map[string]any{"metadata": map[string]any{"labels": labels}})
}

func mergePatch(ctx context.Context, c client.Client, obj client.Object, patch map[string]any) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("marshal patch: %w", err)
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		return c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, data), client.FieldOwner(FieldManager))
	})
}

// forbiddenHint follows an action's error when the API server refused the agent's credentials.
const forbiddenHint = " (the agent's ClusterRole lacks this permission: see examples/deploy/rbac.yaml)"

// manifestsForbiddenHint follows the error of a plan's manifest the agent may not apply: the
// install's role does not cover what plans apply.
const manifestsForbiddenHint = " (the agent applies a plan's manifests with its own credentials: grant what they need with a ClusterRole of your own, docs/install.md#permissions-for-a-plans-manifests)"

// hint is what an action's error says beyond the API server's message: where to grant a
// permission the credentials lack.
func hint(a planner.Action, err error) string {
	if !apierrors.IsForbidden(err) {
		return ""
	}
	if _, manifest := a.(*planner.ApplyObject); manifest {
		return manifestsForbiddenHint
	}
	return forbiddenHint
}

// isTransport reports whether err means the cluster did not answer at all.
func isTransport(err error) bool {
	return net.IsConnectionRefused(err) || net.IsConnectionReset(err) || net.IsProbableEOF(err) ||
		errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err)
}
