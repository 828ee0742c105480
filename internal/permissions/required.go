package permissions

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Permission is one verb on one resource of an API group (a subresource, a named object), in a
// namespace or cluster-wide: what one SelfSubjectAccessReview asks about.
type Permission struct {
	Verb  string
	Group string
	// Resource is the plural resource name, without its subresource.
	Resource    string
	Subresource string
	// Name is set when the rule names its objects (resourceNames).
	Name string
	// Namespace is where the agent uses the permission; empty: cluster-wide.
	Namespace string
}

// String names the permission as the agent's logs and status do:
// "create volumes.longhorn.io in namespace longhorn-system",
// "patch deployments.apps/scale cluster-wide".
func (p Permission) String() string {
	var b strings.Builder
	b.WriteString(p.Verb + " " + p.Resource)
	if p.Group != "" {
		b.WriteString("." + p.Group)
	}
	if p.Subresource != "" {
		b.WriteString("/" + p.Subresource)
	}
	if p.Name != "" {
		b.WriteString(" named " + p.Name)
	}
	if p.Namespace == "" {
		b.WriteString(" cluster-wide")
	} else {
		b.WriteString(" in namespace " + p.Namespace)
	}
	return b.String()
}

// Strings names each permission.
func Strings(ps []Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// LeaseGroup is the API group of the leader-election lease. Its rules are optional: they apply
// only in the cluster that holds the lease, and only when leader election is on.
const LeaseGroup = "coordination.k8s.io"

// optional are the API groups whose rules apply only where Scope.Optional says so.
var optional = []string{LeaseGroup}

// Scope says where, in one cluster, the agent uses what its ClusterRole grants.
type Scope struct {
	// Namespace is Longhorn's namespace: where namespaced kinds are checked.
	Namespace string
	// ClusterWide are the resources the agent's caches hold in every namespace, or cluster-scoped
	// (internal/cluster's CachedEverywhere): every verb on them and their subresources is checked
	// cluster-wide, as the agent uses them wherever they are.
	ClusterWide []schema.GroupResource
	// Optional are the optional groups (LeaseGroup) that apply in this cluster, each with the
	// namespace it applies in (empty: Namespace). The rules of an optional group not named here
	// are not checked.
	Optional map[string]string
}

// Rules reads the rules of every ClusterRole in a stream of YAML manifests, such as
// examples/deploy/rbac.yaml; the other objects are skipped.
func Rules(manifests []byte) ([]rbacv1.PolicyRule, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	var (
		rules []rbacv1.PolicyRule
		found bool
	)
	for i := 0; ; i++ {
		var doc struct {
			APIVersion string              `json:"apiVersion"`
			Kind       string              `json:"kind"`
			Rules      []rbacv1.PolicyRule `json:"rules"`
		}
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("read manifest %d: %w", i+1, err)
		}
		if doc.Kind == "ClusterRole" && doc.APIVersion == rbacv1.SchemeGroupVersion.String() {
			rules, found = append(rules, doc.Rules...), true
		}
	}
	if !found {
		return nil, errors.New("no ClusterRole in the manifests")
	}
	return rules, nil
}

// Required is every permission the rules grant, placed by scope: in the order of the rules,
// each once. Rules of non-resource URLs are left out.
func Required(rules []rbacv1.PolicyRule, scope Scope) []Permission {
	var out []Permission
	seen := map[Permission]bool{}
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, group := range r.APIGroups {
			ns := scope.Namespace
			if slices.Contains(optional, group) {
				on, ok := scope.Optional[group]
				if !ok {
					continue
				}
				if on != "" {
					ns = on
				}
			}
			for _, res := range r.Resources {
				resource, sub, _ := strings.Cut(res, "/")
				where := ns
				if slices.Contains(scope.ClusterWide, schema.GroupResource{Group: group, Resource: resource}) {
					where = ""
				}
				for _, verb := range r.Verbs {
					for _, name := range names {
						p := Permission{Verb: verb, Group: group, Resource: resource, Subresource: sub, Name: name, Namespace: where}
						if !seen[p] {
							seen[p] = true
							out = append(out, p)
						}
					}
				}
			}
		}
	}
	return out
}
