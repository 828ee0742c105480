package clusterstatus

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/planstatus"
)

// FieldManager is the field manager of the status objects.
const FieldManager = planner.ManagedByValue

// Write is one change of a status object in one cluster.
type Write struct {
	Cluster string
	// Object is the object to create or update; Delete removes it instead.
	Object *planstatus.DRPlanStatus
	Create bool
	Delete bool
	// Spec is true when the object's labels or spec changed (an update of the object, not only
	// of its status subresource).
	Spec bool
	// Changed names what differs from the object the cluster holds (for the debug log).
	Changed []string
	// Warning, when set, is the reason of a Warning event to record on the object with
	// WarningMessage: the plan just turned not ready for a reason a person must see (an RPO
	// breach, a stuck failover, a refused or invalid plan, problems).
	Warning, WarningMessage string
}

// Input is what Plan reads: the pass's reports, the revision, and every cluster's state.
type Input struct {
	Plans    []planner.PlanReport
	Revision string
	// Others are plans another shard drives: their objects are that shard's.
	Others []string
	// Complete is true when every plan of the revision was read: only then is an object whose
	// plan is not in Plans one to delete.
	Complete  bool
	Clusters  map[string]*observed.State
	Namespace string
	Owner     string
	// Written are the objects this agent wrote lately, as the API server returned them, by
	// Key: the caches show a write some time after it. An object of Written whose
	// resourceVersion the cache does not show yet stands in for the cache's, so that a pass
	// right after a write does not write the same again (and conflict).
	Written map[Key]*planstatus.DRPlanStatus
}

// Key names a status object in a cluster.
type Key struct{ Cluster, Name string }

// Plan works out the writes that make every reachable cluster of every plan hold the plan's
// status object as its report says. A plan another shard drives is left to it; a cluster whose
// status objects cannot be read (no CRD, not synced) gets none.
func Plan(in Input) []Write {
	var out []Write
	known := map[string]bool{}
	for _, n := range in.Others {
		known[n] = true
	}
	for _, r := range in.Plans {
		if r.Removed {
			continue // gone from Git: its object goes too (below)
		}
		known[r.Name] = true
		if r.Refused {
			continue
		}
		for _, cname := range clustersOf(r) {
			s := in.Clusters[cname]
			if !readable(s) {
				continue
			}
			have := s.PlanStatus(r.Name)
			if w := in.Written[Key{cname, r.Name}]; w != nil && (have == nil || have.ResourceVersion != w.ResourceVersion) {
				have = w
			}
			if have != nil && !ownedBy(in.Owner, have.Labels) {
				continue // another repository's plan of the same name: not ours to write
			}
			want, changed := Desired(r, in.Revision, in.Namespace, labels(in.Owner, r.Name), have)
			if !changed {
				continue
			}
			spec := have == nil || !equalMaps(have.Labels, want.Labels) || have.Spec != want.Spec
			w := Write{Cluster: cname, Object: want, Create: have == nil, Spec: spec, Changed: changedFields(have, want)}
			w.Warning, w.WarningMessage = warning(have, want)
			out = append(out, w)
		}
	}
	if !in.Complete {
		return out
	}
	for cname, s := range in.Clusters {
		if !readable(s) {
			continue
		}
		for i := range s.PlanStatuses {
			o := &s.PlanStatuses[i]
			if ownedBy(in.Owner, o.Labels) && !known[o.Name] {
				out = append(out, Write{Cluster: cname, Object: o.DeepCopy(), Delete: true})
			}
		}
	}
	return out
}

// warnReasons are the Ready=False reasons a person must hear about.
var warnReasons = map[string]bool{ReasonRPOBreach: true, ReasonFailoverStuck: true, ReasonUnauthorized: true, ReasonRefused: true,
	ReasonInvalid: true, ReasonProblems: true}

// warning is the Warning event a change from have to want calls for: Ready turned False, or
// stayed False for another reason, with one of warnReasons.
func warning(have, want *planstatus.DRPlanStatus) (reason, message string) {
	now := conditions.Get(want, meta.ReadyCondition)
	if now == nil || now.Status != metav1.ConditionFalse || !warnReasons[now.Reason] {
		return "", ""
	}
	if have != nil {
		if was := conditions.Get(have, meta.ReadyCondition); was != nil && was.Status == now.Status && was.Reason == now.Reason {
			return "", ""
		}
	}
	return now.Reason, now.Message
}

// changedFields names the parts of want that differ from have.
func changedFields(have, want *planstatus.DRPlanStatus) []string {
	if have == nil {
		return []string{"new"}
	}
	var out []string
	add := func(name string, a, b any) {
		if !equality.Semantic.DeepEqual(a, b) {
			out = append(out, name)
		}
	}
	add("labels", have.Labels, want.Labels)
	add("spec", have.Spec, want.Spec)
	h, w := have.Status, want.Status
	add("phase", h.Phase, w.Phase)
	add("revision", h.Revision, w.Revision)
	add("volumes", [2]int{h.Volumes, h.Protected}, [2]int{w.Volumes, w.Protected})
	add("oldestRestoredAt", h.OldestRestoredAt, w.OldestRestoredAt)
	add("failover", h.Failover, w.Failover)
	add("problems", h.Problems, w.Problems)
	add("conditions", h.Conditions, w.Conditions)
	return out
}

func readable(s *observed.State) bool { return s.Observed() && s.PlanStatusesKnown }

// clustersOf are the clusters a plan's status object goes to: both of its clusters.
func clustersOf(r planner.PlanReport) []string {
	if r.Primary == r.Secondary || r.Primary == "" {
		return []string{r.Secondary}
	}
	return []string{r.Primary, r.Secondary}
}

func labels(owner, plan string) map[string]string {
	return map[string]string{planner.LabelManagedBy: planner.ManagedByValue, planner.LabelOwner: owner, planner.LabelPlan: plan}
}

func ownedBy(owner string, l map[string]string) bool {
	return l[planner.LabelManagedBy] == planner.ManagedByValue && l[planner.LabelOwner] == owner
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// Apply carries out one write with c, the write's cluster's client, and returns the object as
// the API server returned it (nil for a delete, or when nothing was written). A conflict (the
// object changed since it was read) is left to the next pass.
func Apply(ctx context.Context, c client.Client, w Write) (*planstatus.DRPlanStatus, error) {
	obj := w.Object.DeepCopy()
	name := fmt.Sprintf("DRPlanStatus %s/%s in cluster %s", obj.Namespace, obj.Name, w.Cluster)
	switch {
	case w.Delete:
		err := c.Delete(ctx, obj, client.Preconditions{ResourceVersion: &obj.ResourceVersion})
		if err = client.IgnoreNotFound(err); err != nil && !apierrors.IsConflict(err) {
			return nil, fmt.Errorf("delete %s: %w", name, err)
		}
		return nil, nil
	case w.Create:
		status := obj.Status
		if err := c.Create(ctx, obj, client.FieldOwner(FieldManager)); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return nil, nil // the cache is behind: the next pass sees it
			}
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		obj.Status = status
	case w.Spec:
		status := obj.Status
		if err := c.Update(ctx, obj, client.FieldOwner(FieldManager)); err != nil {
			return nil, ignoreConflict(fmt.Errorf("update %s: %w", name, err))
		}
		obj.Status = status
	}
	if err := c.Status().Update(ctx, obj, client.FieldOwner(FieldManager)); err != nil {
		return nil, ignoreConflict(fmt.Errorf("update the status of %s: %w", name, err))
	}
	return obj, nil
}

func ignoreConflict(err error) error {
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}
