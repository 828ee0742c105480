package executor

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/planner"
)

// doObjects carries out the actions on objects of any kind: manifests and gate Jobs.
func doObjects(ctx context.Context, c client.Client, a planner.Action) (obj client.Object, reason string, handled bool, err error) {
	switch a := a.(type) {
	case *planner.ApplyObject:
		u := a.Object.DeepCopy()
		if err := defaultNamespace(c, u); err != nil {
			return u, "", true, err
		}
		return u, "ObjectApplied", true, c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership)
	case *planner.DeleteObject:
		u := &unstructured.Unstructured{}
		gv, err := schema.ParseGroupVersion(a.Ref.APIVersion)
		if err != nil {
			return nil, "", true, fmt.Errorf("apiVersion %q: %w", a.Ref.APIVersion, err)
		}
		u.SetGroupVersionKind(gv.WithKind(a.Ref.Kind))
		u.SetNamespace(a.Ref.Namespace)
		u.SetName(a.Ref.Name)
		opts := []client.DeleteOption{client.PropagationPolicy(metav1.DeletePropagationBackground)}
		if len(a.Labels) > 0 {
			// Deleted only when it is the object the planner meant: read it, check its labels,
			// and delete that very object (its uid), not one created since under its name.
			if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
				return u, "", true, client.IgnoreNotFound(err)
			}
			for k, v := range a.Labels {
				if u.GetLabels()[k] != v {
					return u, "", true, fmt.Errorf("not deleted: it does not carry the label %s=%s", k, v)
				}
			}
			uid := u.GetUID()
			opts = append(opts, client.Preconditions{UID: &uid})
		}
		return u, "ObjectDeleted", true, client.IgnoreNotFound(c.Delete(ctx, u, opts...))
	}
	return nil, "", false, nil
}

// defaultNamespace puts a namespaced object written without a namespace into default, as
// kubectl apply does.
func defaultNamespace(c client.Client, u *unstructured.Unstructured) error {
	if u.GetNamespace() != "" {
		return nil
	}
	namespaced, err := c.IsObjectNamespaced(u)
	if err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	if namespaced {
		u.SetNamespace(metav1.NamespaceDefault)
	}
	return nil
}
