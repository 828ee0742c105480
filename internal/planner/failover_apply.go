package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// ApplyObject applies one object to a cluster with server-side apply (field manager drplan,
// conflicts forced): a wave's or the traffic step's manifest, or a gate's Job.
type ApplyObject struct {
	Target
	Object *unstructured.Unstructured `json:"object"`
	// Reason says why, for logs and previews.
	Reason string `json:"reason"`
}

func (a *ApplyObject) String() string {
	return fmt.Sprintf("apply %s %s (%s)", a.Object.GetKind(), refName(a.Object.GetNamespace(), a.Object.GetName()), a.Reason)
}

// DeleteObject deletes one object drplan applied earlier, such as a gate's Job a previous
// failover left (background propagation).
type DeleteObject struct {
	Target
	Ref observed.ObjectRef `json:"ref"`
	// Labels, when set, are labels the object must carry to be deleted (a drill's teardown):
	// the executor reads it first and deletes that very object (uid precondition) only then.
	Labels map[string]string `json:"labels,omitempty"`
	Reason string            `json:"reason"`
}

func (a *DeleteObject) String() string {
	return fmt.Sprintf("delete %s %s (%s)", a.Ref.Kind, refName(a.Ref.Namespace, a.Ref.Name), a.Reason)
}

func refName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// definitionKinds are applied, and must be ready, before the rest of a set of manifests: the
// namespaces the rest goes into and the kinds it uses.
var definitionKinds = map[string]bool{"Namespace": true, "CustomResourceDefinition": true}

// applyManifests applies a set of manifests to the secondary in two stages, namespaces and CRDs
// first, and waits until every object is ready (kstatus Current; a CRD is Current once
// established) before it reports the set done (busy false). An object is applied when it is
// missing or its drplan.io/applied digest differs from the manifest's. Waiting is bounded by
// timeout, counted from the step's start: after it the failover stalls there, as a gate does.
func (f *failoverRun) applyManifests(what string, ms []plans.Manifest, st *StepRecord, timeout time.Duration) (stepResult, bool) {
	var defs, rest []plans.Manifest
	for _, m := range ms {
		if definitionKinds[m.Object.GetKind()] {
			defs = append(defs, m)
		} else {
			rest = append(rest, m)
		}
	}
	for _, stage := range [][]plans.Manifest{defs, rest} {
		var pending []string
		for _, m := range stage {
			if why := f.applied(m.Object, "applied by "+what, m.String()); why != "" {
				pending = append(pending, why)
			}
		}
		if len(pending) == 0 {
			continue
		}
		if f.now.Sub(st.StartedAt) >= timeout {
			return stepResult{stalled: true, waiting: fmt.Sprintf("%s: not ready after %s: %s; the failover stops here until they are ready or a commit changes the plan",
				what, timeout, joinFirst(pending, 3))}, true
		}
		return stepResult{waiting: fmt.Sprintf("%s: %s", what, joinFirst(pending, 3))}, true
	}
	return stepResult{done: true, note: appliedNote(what, len(ms))}, false
}

func appliedNote(what string, n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %d objects applied and ready", what, n)
}

// applied says what object obj still waits for in the secondary, "" when it is there with
// obj's digest and ready; it asks for the apply when needed. desc names it in messages.
func (f *failoverRun) applied(obj *unstructured.Unstructured, reason, desc string) string {
	ref := objectRef(obj)
	digest := Digest(obj)
	have, why := gateObject(f.sec, ref)
	switch {
	case have == nil && why != "" && !f.notFound(ref):
		return fmt.Sprintf("%s: %s", desc, why)
	case have == nil || have.GetAnnotations()[AnnotationApplied] != digest:
		f.d.add(&ApplyObject{Target: Target{f.sec.Name, f.p.Name()}, Object: withDigest(obj, digest), Reason: reason})
		return "applying " + desc
	}
	res, err := status.Compute(have)
	switch {
	case err != nil:
		return fmt.Sprintf("%s: kstatus: %v", desc, err)
	case res.Status != status.CurrentStatus:
		return fmt.Sprintf("%s: %s: %s", desc, res.Status, res.Message)
	}
	return ""
}

// notFound reports whether the object was read for this pass and is not in the secondary.
func (f *failoverRun) notFound(ref observed.ObjectRef) bool {
	if cachedKind(ref.APIVersion, ref.Kind) {
		return cachedWorkload(f.sec, ref.Kind, ref.Namespace, ref.Name) == nil
	}
	u, read := f.sec.Objects[ref]
	return read && u == nil
}

func objectRef(u *unstructured.Unstructured) observed.ObjectRef {
	ref := observed.ObjectRef{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
	if ref.Namespace == "" && cachedKind(ref.APIVersion, ref.Kind) {
		ref.Namespace = metav1.NamespaceDefault // applied to default, as kubectl does
	}
	return ref
}

// Digest is the drplan.io/applied value of an object: a hash of it as written, without that
// annotation.
func Digest(u *unstructured.Unstructured) string {
	c := u.DeepCopy()
	ann := c.GetAnnotations()
	delete(ann, AnnotationApplied)
	if len(ann) == 0 {
		ann = nil
	}
	c.SetAnnotations(ann)
	data, err := json.Marshal(c.Object)
	if err != nil {
		return "unhashable"
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

func withDigest(u *unstructured.Unstructured, digest string) *unstructured.Unstructured {
	c := u.DeepCopy()
	ann := c.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationApplied] = digest
	c.SetAnnotations(ann)
	return c
}

// manifestRefs are the objects of a set of manifests, to read before deciding.
func manifestRefs(ms []plans.Manifest) []observed.ObjectRef {
	out := make([]observed.ObjectRef, 0, len(ms))
	for _, m := range ms {
		out = append(out, objectRef(m.Object))
	}
	return out
}

// jobGate runs a gate's Job: created once for this failover (a Job another failover left is
// replaced), then judged by kstatus like any gate. It returns "" when the Job is there and
// current; else why not.
func (f *failoverRun) jobGate(g plans.Gate) (ready bool, msg string) {
	want := f.gateJob(g)
	ref := gateRef(g)
	have, why := gateObject(f.sec, ref)
	switch {
	case have == nil && !f.notFound(ref):
		return false, why
	case have == nil:
		f.d.add(&ApplyObject{Target: Target{f.sec.Name, f.p.Name()}, Object: want, Reason: "gate Job of this failover"})
		return false, "creating the Job"
	case have.GetAnnotations()[AnnotationApplied] != want.GetAnnotations()[AnnotationApplied]:
		if have.GetDeletionTimestamp() == nil {
			f.d.add(&DeleteObject{Target: Target{f.sec.Name, f.p.Name()}, Ref: ref, Reason: "a Job of another failover or plan revision, replaced by this failover's"})
		}
		return false, "replacing a Job of another failover"
	}
	res, err := status.Compute(have)
	switch {
	case err != nil:
		return false, fmt.Sprintf("kstatus: %v", err)
	case res.Status != status.CurrentStatus:
		return false, fmt.Sprintf("%s: %s", res.Status, res.Message)
	}
	return true, res.Message
}

// gateJob is the Job a gate runs in this failover: one container under the restricted Pod
// Security Standard, restartPolicy Never, bounded by the gate's timeout. Its digest covers the
// failover (revision and start), so each failover runs it afresh.
func (f *failoverRun) gateJob(g plans.Gate) *unstructured.Unstructured {
	j := g.Job
	labels := f.labels(nil)
	env := make([]corev1.EnvVar, 0, len(j.Env))
	for _, e := range j.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: g.Name, Namespace: g.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(j.BackoffLimit),
			ActiveDeadlineSeconds: ptr.To(int64(g.Timeout.Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{LabelPlan: f.p.Name()}},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: j.ServiceAccountName,
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name: "gate", Image: j.Image, Command: j.Command, Args: j.Args, Env: env,
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
					}},
				},
			},
		},
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(job)
	if err != nil {
		m = map[string]any{}
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	digest := Digest(u)[:8] + "-" + shortRevision(f.rec.Revision) + "-" + strconv.FormatInt(f.rec.StartedAt.Unix(), 36)
	return withDigest(u, digest)
}

func shortRevision(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
