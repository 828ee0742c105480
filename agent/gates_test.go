package agent

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drplan/drplan/plans"
)

// Flux's evaluator, as a plan's CEL gate uses it: in progress, failed and current in that
// order, in progress while status.observedGeneration lags, an error for a field that is not
// there.
func TestEvaluateCELGate(t *testing.T) {
	gate := plans.Gate{Current: "data.ready == 'yes'", Failed: "data.ready == 'broken'", InProgress: "data.ready == 'starting'"}
	cm := func(ready string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"ready": ready}}}
	}
	for _, tc := range []struct {
		name   string
		obj    *unstructured.Unstructured
		status string
		errs   bool
	}{
		{"current", cm("yes"), "Current", false},
		{"failed", cm("broken"), "Failed", false},
		{"in progress", cm("starting"), "InProgress", false},
		{"none true: in progress", cm("no"), "InProgress", false},
		{"observedGeneration behind", &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"generation": int64(2)},
			"status": map[string]any{"observedGeneration": int64(1)}, "data": map[string]any{"ready": "yes"}}}, "InProgress", false},
		{"no such field", &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			res := evaluateCELGate(t.Context(), gate, tc.obj)
			g.Expect(res.Status).To(Equal(tc.status))
			g.Expect(res.Message != "").To(Equal(tc.errs), "message %q", res.Message)
		})
	}
}
