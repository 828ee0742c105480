package permissions_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/examples"
	"github.com/drplan/drplan/internal/cluster"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/permissions"
	"github.com/drplan/drplan/internal/planstatus"
	"github.com/drplan/drplan/internal/testenv"
)

const ns = "longhorn-system"

// reviewer answers reviews from a list of denied permissions, counting those in flight.
type reviewer struct {
	deny     map[string]bool
	err      error
	inFlight atomic.Int32
	mu       sync.Mutex
	most     int32
	asked    int
}

func (r *reviewer) Create(_ context.Context, rev *authorizationv1.SelfSubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error) {
	n := r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	time.Sleep(time.Millisecond)
	r.mu.Lock()
	r.most, r.asked = max(r.most, n), r.asked+1
	r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	a := rev.Spec.ResourceAttributes
	p := permissions.Permission{Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource, Name: a.Name, Namespace: a.Namespace}
	out := rev.DeepCopy()
	out.Status.Allowed = !r.deny[p.String()]
	return out, nil
}

func TestMissing(t *testing.T) {
	perms := make([]permissions.Permission, 30)
	for i := range perms {
		perms[i] = permissions.Permission{Verb: "get", Resource: "things", Name: string(rune('a' + i)), Namespace: ns}
	}
	t.Run("the denied ones, in order, a few reviews at a time", func(t *testing.T) {
		g := NewWithT(t)
		r := &reviewer{deny: map[string]bool{perms[20].String(): true, perms[3].String(): true}}
		missing, err := permissions.Missing(t.Context(), r, perms)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(missing).To(Equal([]permissions.Permission{perms[3], perms[20]}))
		g.Expect(r.asked).To(Equal(len(perms)))
		g.Expect(r.most).To(BeNumerically("<=", permissions.Concurrency))
	})
	t.Run("nothing denied", func(t *testing.T) {
		g := NewWithT(t)
		missing, err := permissions.Missing(t.Context(), &reviewer{}, perms)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(missing).To(BeEmpty())
	})
	t.Run("a review that fails is an error, not a missing permission", func(t *testing.T) {
		g := NewWithT(t)
		down := errors.New("connection refused")
		missing, err := permissions.Missing(t.Context(), &reviewer{err: down}, perms)
		g.Expect(err).To(MatchError(down))
		g.Expect(err).To(MatchError(ContainSubstring("review get things named ")))
		g.Expect(missing).To(BeNil())
	})
}

// Against a real API server: a user bound to the example's ClusterRole less one rule lacks
// exactly that rule's permissions; bound to the whole role, nothing.
func TestCheck(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	crds, err := longhorn.CRDs()
	g.Expect(err).NotTo(HaveOccurred())
	statusCRD, err := planstatus.CRD()
	g.Expect(err).NotTo(HaveOccurred())
	api := testenv.StartTestCluster(t, "east", testenv.ClusterOptions{CRDs: append(crds, statusCRD)})
	admin, err := client.New(api.Config, client.Options{Scheme: cluster.Scheme})
	g.Expect(err).NotTo(HaveOccurred())

	rules, err := permissions.Rules(examples.RBAC)
	g.Expect(err).NotTo(HaveOccurred())
	scope := permissions.Scope{Namespace: ns, ClusterWide: cluster.UsedEverywhere(), Optional: map[string]string{permissions.LeaseGroup: ""}}
	noLease := permissions.Scope{Namespace: ns, ClusterWide: cluster.UsedEverywhere()}

	// Every permission checked in a namespace is of a namespaced kind: a cluster-scoped kind
	// added to the role must be checked cluster-wide (Scope.ClusterWide).
	for _, p := range permissions.Required(rules, scope) {
		gk, err := admin.RESTMapper().KindFor(schema.GroupVersionResource{Group: p.Group, Resource: p.Resource})
		g.Expect(err).NotTo(HaveOccurred(), "%s", p)
		m, err := admin.RESTMapper().RESTMapping(gk.GroupKind())
		g.Expect(err).NotTo(HaveOccurred(), "%s", p)
		if p.Namespace != "" {
			g.Expect(m.Scope.Name()).To(Equal(meta.RESTScopeNameNamespace), "%s: a cluster-scoped kind", p)
		}
	}

	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "drplan-agent"}}
	g.Expect(admin.Create(ctx, role)).To(Succeed())
	g.Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "drplan-agent"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "drplan-agent"}},
	})).To(Succeed())
	kubeconfig := filepath.Join(t.TempDir(), "agent.kubeconfig")
	g.Expect(api.AddUser("drplan-agent", nil, kubeconfig)).To(Succeed())
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	g.Expect(err).NotTo(HaveOccurred())
	rc.QPS, rc.Burst = cluster.DefaultQPS, cluster.DefaultBurst
	cs, err := kubernetes.NewForConfig(rc)
	g.Expect(err).NotTo(HaveOccurred())
	reviews := cs.AuthorizationV1().SelfSubjectAccessReviews()

	// grant binds the user to rules; the authorizer sees it within moments.
	grant := func(rules []rbacv1.PolicyRule) {
		g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(role), role)).To(Succeed())
		role.Rules = rules
		g.Expect(admin.Update(ctx, role)).To(Succeed())
	}
	check := func(scope permissions.Scope) func(Gomega) []string {
		return func(g Gomega) []string {
			missing, err := permissions.Check(ctx, reviews, scope)
			g.Expect(err).NotTo(HaveOccurred())
			return permissions.Strings(missing)
		}
	}
	without := func(group string) []rbacv1.PolicyRule {
		i := slices.IndexFunc(rules, func(r rbacv1.PolicyRule) bool { return slices.Equal(r.APIGroups, []string{group}) })
		g.Expect(i).NotTo(Equal(-1), "the example's role has a rule of group %q alone", group)
		return slices.Delete(slices.Clone(rules), i, i+1)
	}

	// Less the rule on Jobs (read and run by failover gates): those permissions.
	grant(without("batch"))
	g.Eventually(check(scope)).Should(Equal([]string{
		"get jobs.batch in namespace longhorn-system", "create jobs.batch in namespace longhorn-system",
		"patch jobs.batch in namespace longhorn-system", "delete jobs.batch in namespace longhorn-system",
	}))

	// Less the lease's rule: missing only where the lease is held.
	grant(without(permissions.LeaseGroup))
	g.Eventually(check(scope)).Should(Equal([]string{
		"get leases.coordination.k8s.io in namespace longhorn-system",
		"create leases.coordination.k8s.io in namespace longhorn-system",
		"update leases.coordination.k8s.io in namespace longhorn-system",
	}))
	g.Expect(check(noLease)(g)).To(BeEmpty())

	// The whole role: nothing missing.
	grant(rules)
	g.Eventually(check(scope)).Should(BeEmpty())
}
