package executor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/executor"
	"github.com/drplan/drplan/internal/planner"
)

// An action the API server refuses says where the permission is granted, once; other errors
// say only what happened.
func TestActionErrors(t *testing.T) {
	const hint = "(the agent's ClusterRole lacks this permission: see examples/deploy/rbac.yaml)"
	forbidden := func(gr schema.GroupResource) error {
		return apierrors.NewForbidden(gr, "x",
			errors.New(`User "drplan-agent" cannot patch resource`))
	}
	target := planner.Target{ClusterName: "east", PlanName: "payments"}
	sync := &planner.RequestSync{Target: target, Kind: planner.SyncBackupVolume, Namespace: ns, Name: "pg-data-4674ee58", At: time.Now()}
	labels := &planner.PatchVolumeLabels{Target: target, Namespace: ns, Volume: "pg-data", Claim: &planner.ClaimRef{Namespace: "db", Name: "data-pg-0"},
		Set: map[string]string{"recurring-job.longhorn.io/drplan-payments": "enabled"}}
	cases := []struct {
		name     string
		action   planner.Action
		patchErr error
		want     []string
		hinted   bool
	}{
		{name: "forbidden", action: sync, patchErr: forbidden(schema.GroupResource{Group: "longhorn.io", Resource: "backupvolumes"}), want: []string{"in cluster east: ", "cannot patch resource"}, hinted: true},
		{name: "forbidden on a source volume's claim", action: labels, patchErr: forbidden(schema.GroupResource{Resource: "persistentvolumeclaims"}),
			want: []string{"claim db/data-pg-0: ", "cannot patch resource"}, hinted: true},
		{name: "not found", action: sync, patchErr: apierrors.NewNotFound(schema.GroupResource{Group: "longhorn.io", Resource: "backupvolumes"}, "x"),
			want: []string{"in cluster east: ", "not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			k8s := fake.NewClientBuilder().WithScheme(cluster.Scheme).WithInterceptorFuncs(interceptor.Funcs{
				Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
					return tc.patchErr
				},
			}).Build()
			ex := executor.New(executor.Options{Clusters: map[string]executor.Cluster{"east": &conn{c: k8s}}})
			err := ex.Execute(t.Context(), []planner.Action{tc.action})[0].Err
			g.Expect(err).To(HaveOccurred())
			for _, w := range tc.want {
				g.Expect(err.Error()).To(ContainSubstring(w))
			}
			g.Expect(apierrors.ReasonForError(err)).To(Equal(apierrors.ReasonForError(tc.patchErr)), "the API error stays inspectable")
			if tc.hinted {
				g.Expect(strings.Count(err.Error(), hint)).To(Equal(1), "%v", err)
				g.Expect(err.Error()).To(HaveSuffix(hint))
			} else {
				g.Expect(err.Error()).NotTo(ContainSubstring("ClusterRole"))
			}
		})
	}
}

// A plan's manifest the agent may not apply points at the permissions a team grants for its
// manifests, not at the install's role.
func TestApplyObjectForbidden(t *testing.T) {
	g := NewWithT(t)
	k8s := fake.NewClientBuilder().WithScheme(cluster.Scheme).WithInterceptorFuncs(interceptor.Funcs{
		Apply: func(context.Context, client.WithWatch, runtime.ApplyConfiguration, ...client.ApplyOption) error {
			return apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "dns", errors.New(`User "drplan-agent" cannot patch resource`))
		},
	}).Build()
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "dns", "namespace": "shop"}}}
	ex := executor.New(executor.Options{Clusters: map[string]executor.Cluster{"west": &conn{c: k8s}}})
	err := ex.Execute(t.Context(), []planner.Action{&planner.ApplyObject{Target: planner.Target{ClusterName: "west", PlanName: "shop"}, Object: cm, Reason: "traffic"}})[0].Err
	g.Expect(err).To(MatchError(HaveSuffix("docs/install.md#permissions-for-a-plans-manifests)")))
	g.Expect(err.Error()).NotTo(ContainSubstring("rbac.yaml"))
}
