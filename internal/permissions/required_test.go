package permissions

import (
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drplan/drplan/examples"
)

const ns = "longhorn-system"

func TestPermissionString(t *testing.T) {
	cases := []struct {
		p    Permission
		want string
	}{
		{Permission{Verb: "create", Group: "longhorn.io", Resource: "volumes", Namespace: ns}, "create volumes.longhorn.io in namespace longhorn-system"},
		{Permission{Verb: "list", Resource: "persistentvolumes"}, "list persistentvolumes cluster-wide"},
		{Permission{Verb: "patch", Group: "apps", Resource: "deployments", Subresource: "scale"}, "patch deployments.apps/scale cluster-wide"},
		{Permission{Verb: "update", Group: "drplan.io", Resource: "drplanstatuses", Subresource: "status", Namespace: ns},
			"update drplanstatuses.drplan.io/status in namespace longhorn-system"},
		{Permission{Verb: "get", Group: LeaseGroup, Resource: "leases", Name: "drplan-agent-x", Namespace: "drplan-system"},
			"get leases.coordination.k8s.io named drplan-agent-x in namespace drplan-system"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			NewWithT(t).Expect(tc.p.String()).To(Equal(tc.want))
		})
	}
}

func TestRules(t *testing.T) {
	cases := []struct {
		name      string
		manifests string
		want      []rbacv1.PolicyRule
		wantErr   string
	}{
		{
			name: "the ClusterRole among other objects",
			manifests: `apiVersion: v1
kind: Namespace
metadata: {name: drplan-system}
---
# a comment, then an empty document
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: drplan-agent}
rules:
  - apiGroups: [longhorn.io]
    resources: [volumes]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: drplan-agent}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: drplan-agent}
`,
			want: []rbacv1.PolicyRule{{APIGroups: []string{"longhorn.io"}, Resources: []string{"volumes"}, Verbs: []string{"get", "list"}}},
		},
		{
			name: "the rules of every ClusterRole",
			manifests: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
rules: [{apiGroups: [apps], resources: [deployments], verbs: [list]}]
`,
			want: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"list"}},
			},
		},
		{
			name:      "no ClusterRole",
			manifests: "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: drplan-agent}\n",
			wantErr:   "no ClusterRole in the manifests",
		},
		{
			name:      "a Role is not a ClusterRole",
			manifests: "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nrules: []\n",
			wantErr:   "no ClusterRole in the manifests",
		},
		{
			name:      "not YAML",
			manifests: "kind: ClusterRole\nrules: [\n",
			wantErr:   "read manifest 1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := Rules([]byte(tc.manifests))
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestRequired(t *testing.T) {
	clusterWide := []schema.GroupResource{{Group: "apps", Resource: "deployments"}, {Resource: "persistentvolumes"}}
	rule := func(groups, resources, verbs []string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}
	}
	l := func(s ...string) []string { return s }
	lease := rule(l(LeaseGroup), l("leases"), l("get", "update"))
	cases := []struct {
		name     string
		rules    []rbacv1.PolicyRule
		optional map[string]string
		want     []string
	}{
		{
			name:  "a namespaced kind in Longhorn's namespace, verb by verb",
			rules: []rbacv1.PolicyRule{rule(l("longhorn.io"), l("volumes", "backups"), l("get", "create"))},
			want: l("get volumes.longhorn.io in namespace longhorn-system", "create volumes.longhorn.io in namespace longhorn-system",
				"get backups.longhorn.io in namespace longhorn-system", "create backups.longhorn.io in namespace longhorn-system"),
		},
		{
			name:  "kinds the caches hold everywhere, and their subresources, cluster-wide",
			rules: []rbacv1.PolicyRule{rule(l(""), l("persistentvolumes"), l("patch")), rule(l("apps"), l("deployments/scale"), l("patch"))},
			want:  l("patch persistentvolumes cluster-wide", "patch deployments.apps/scale cluster-wide"),
		},
		{
			name:  "a kind of the same name in another group stays in the namespace",
			rules: []rbacv1.PolicyRule{rule(l("example.com"), l("deployments"), l("list"))},
			want:  l("list deployments.example.com in namespace longhorn-system"),
		},
		{
			name:  "one resource in two groups",
			rules: []rbacv1.PolicyRule{rule(l("", "events.k8s.io"), l("events"), l("create"))},
			want:  l("create events in namespace longhorn-system", "create events.events.k8s.io in namespace longhorn-system"),
		},
		{
			name:  "the lease is left out where it does not apply",
			rules: []rbacv1.PolicyRule{lease, rule(l("batch"), l("jobs"), l("get"))},
			want:  l("get jobs.batch in namespace longhorn-system"),
		},
		{
			name:     "the lease in Longhorn's namespace",
			rules:    []rbacv1.PolicyRule{lease},
			optional: map[string]string{LeaseGroup: ""},
			want:     l("get leases.coordination.k8s.io in namespace longhorn-system", "update leases.coordination.k8s.io in namespace longhorn-system"),
		},
		{
			name:     "the lease in a namespace of its own",
			rules:    []rbacv1.PolicyRule{lease},
			optional: map[string]string{LeaseGroup: "drplan-system"},
			want:     l("get leases.coordination.k8s.io in namespace drplan-system", "update leases.coordination.k8s.io in namespace drplan-system"),
		},
		{
			name: "named objects, one by one",
			rules: []rbacv1.PolicyRule{{APIGroups: l(""), Resources: l("configmaps"), Verbs: l("get"),
				ResourceNames: l("a", "b")}},
			want: l("get configmaps named a in namespace longhorn-system", "get configmaps named b in namespace longhorn-system"),
		},
		{
			name:  "each permission once",
			rules: []rbacv1.PolicyRule{rule(l(""), l("configmaps"), l("get", "list")), rule(l(""), l("configmaps"), l("list", "watch"))},
			want:  l("get configmaps in namespace longhorn-system", "list configmaps in namespace longhorn-system", "watch configmaps in namespace longhorn-system"),
		},
		{
			name:  "non-resource URLs are left out",
			rules: []rbacv1.PolicyRule{{NonResourceURLs: l("/readyz"), Verbs: l("get")}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := Required(tc.rules, Scope{Namespace: ns, ClusterWide: clusterWide, Optional: tc.optional})
			g.Expect(Strings(got)).To(Equal(append([]string{}, tc.want...)))
		})
	}
}

// The example's role reads, and places its permissions as the agent uses them.
func TestRequiredOfTheExample(t *testing.T) {
	g := NewWithT(t)
	rules, err := Rules(examples.RBAC)
	g.Expect(err).NotTo(HaveOccurred())
	clusterWide := []schema.GroupResource{{Group: "apps", Resource: "deployments"}, {Group: "apps", Resource: "statefulsets"},
		{Resource: "persistentvolumes"}, {Resource: "persistentvolumeclaims"}}
	got := Strings(Required(rules, Scope{Namespace: ns, ClusterWide: clusterWide}))
	g.Expect(got).To(ContainElements(
		"create volumes.longhorn.io in namespace longhorn-system",
		"list persistentvolumes cluster-wide",
		"watch deployments.apps cluster-wide",
		"patch statefulsets.apps/scale cluster-wide",
		"update drplanstatuses.drplan.io/status in namespace longhorn-system",
	))
	g.Expect(got).NotTo(ContainElement(ContainSubstring("leases")), "the lease only where it applies")
	withLease := Strings(Required(rules, Scope{Namespace: ns, ClusterWide: clusterWide, Optional: map[string]string{LeaseGroup: ""}}))
	g.Expect(withLease).To(ContainElement("create leases.coordination.k8s.io in namespace longhorn-system"))
}
