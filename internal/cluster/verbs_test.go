package cluster

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestVerb(t *testing.T) {
	cases := []struct{ method, path, want string }{
		{"GET", "/apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes", "list"},
		{"GET", "/apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes/pg-data", "get"},
		{"GET", "/apis/apps/v1/deployments", "list"},
		{"GET", "/api/v1/namespaces", "list"},
		{"GET", "/api/v1/namespaces/prod", "get"},
		{"GET", "/api/v1/namespaces/prod/configmaps/go-ahead", "get"},
		{"GET", "/apis/apps/v1/namespaces/prod/statefulsets/db/scale", "get"},
		{"GET", "/readyz", "get"},
		{"GET", "/apis", "get"},
		{"POST", "/apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes", "create"},
		{"PUT", "/api/v1/namespaces/longhorn-system/configmaps/drplan-failover-x", "update"},
		{"PATCH", "/apis/longhorn.io/v1beta2/namespaces/longhorn-system/volumes/pg-data", "patch"},
		{"PATCH", "/apis/apps/v1/namespaces/prod/deployments/web/scale", "patch"},
		{"DELETE", "/apis/longhorn.io/v1beta2/namespaces/longhorn-system/recurringjobs/drplan-x", "delete"},
		{"DELETE", "/apis/longhorn.io/v1beta2/namespaces/longhorn-system/recurringjobs", "deletecollection"},
		{"OPTIONS", "/api", "other"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			NewWithT(t).Expect(Verb(tc.method, tc.path)).To(Equal(tc.want))
		})
	}
}

func TestRequestCounters(t *testing.T) {
	g := NewWithT(t)
	var r requestCounters
	r.add("get")
	r.add("patch")
	r.add("patch")
	r.add("nonsense")
	g.Expect(r.total()).To(Equal(int64(4)))
	g.Expect(r.byVerb()).To(HaveKeyWithValue("patch", int64(2)))
	g.Expect(r.byVerb()).To(HaveKeyWithValue("other", int64(1)))
}
