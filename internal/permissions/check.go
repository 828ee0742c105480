package permissions

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"

	"github.com/drplan/drplan/examples"
)

// Reviewer creates SelfSubjectAccessReviews: a clientset's
// AuthorizationV1().SelfSubjectAccessReviews().
type Reviewer interface {
	Create(ctx context.Context, review *authorizationv1.SelfSubjectAccessReview, opts metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error)
}

var _ Reviewer = authorizationv1client.SelfSubjectAccessReviewInterface(nil)

// Concurrency bounds the reviews in flight in one cluster.
const Concurrency = 4

// Check asks the API server behind r which permissions of the agent's ClusterRole
// (examples.RBAC), placed by scope, its credentials lack. An error means the answer is not
// known (the API server did not answer, say), not that anything is missing.
func Check(ctx context.Context, r Reviewer, scope Scope) ([]Permission, error) {
	rules, err := Rules(examples.RBAC)
	if err != nil {
		return nil, fmt.Errorf("examples/deploy/rbac.yaml: %w", err)
	}
	return Missing(ctx, r, Required(rules, scope))
}

// Missing asks the API server about each permission, Concurrency at a time, and returns those it
// denies, in their order. A review that fails ends the check with its error.
func Missing(ctx context.Context, r Reviewer, perms []Permission) ([]Permission, error) {
	allowed := make([]bool, len(perms))
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(Concurrency)
	for i, p := range perms {
		eg.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			res, err := r.Create(ctx, review(p), metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("review %s: %w", p, err)
			}
			allowed[i] = res.Status.Allowed
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	var missing []Permission
	for i, p := range perms {
		if !allowed[i] {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// review is the SelfSubjectAccessReview that asks about p.
func review(p Permission) *authorizationv1.SelfSubjectAccessReview {
	return &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace:   p.Namespace,
			Verb:        p.Verb,
			Group:       p.Group,
			Resource:    p.Resource,
			Subresource: p.Subresource,
			Name:        p.Name,
		},
	}}
}
