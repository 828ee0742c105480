package planner

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/plans"
)

// A CEL gate is ready when the agent's evaluation says Current; the planner reads the result,
// never evaluates.
func TestCELGateReady(t *testing.T) {
	g := plans.Gate{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "flag", Current: "data.ready == 'yes'", Failed: "data.ready == 'broken'"}
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
	for _, tc := range []struct {
		name    string
		objects map[observed.ObjectRef]*unstructured.Unstructured
		results map[observed.GateKey]observed.GateResult
		ready   bool
		message string
	}{
		{name: "not read", message: "not read from cluster west yet"},
		{name: "not found", objects: map[observed.ObjectRef]*unstructured.Unstructured{gateRef(g): nil}, message: "not found in cluster west"},
		{name: "not evaluated", objects: map[observed.ObjectRef]*unstructured.Unstructured{gateRef(g): obj}, message: "CEL expressions not evaluated yet"},
		{name: "in progress", objects: map[observed.ObjectRef]*unstructured.Unstructured{gateRef(g): obj},
			results: map[observed.GateKey]observed.GateResult{CELGateKey(g): {Status: "InProgress"}}, message: "InProgress (CEL)"},
		{name: "failed", objects: map[observed.ObjectRef]*unstructured.Unstructured{gateRef(g): obj},
			results: map[observed.GateKey]observed.GateResult{CELGateKey(g): {Status: "Failed"}}, message: "Failed (CEL)"},
		{name: "evaluation error", objects: map[observed.ObjectRef]*unstructured.Unstructured{gateRef(g): obj},
			results: map[observed.GateKey]observed.GateResult{CELGateKey(g): {Message: "no such key: data"}}, message: "CEL: no such key: data"},
		{name: "current", objects: map[observed.ObjectRef]*unstructured.Unstructured{gateRef(g): obj},
			results: map[observed.GateKey]observed.GateResult{CELGateKey(g): {Status: "Current"}}, ready: true, message: "current: data.ready == 'yes'"},
		{name: "another expression's result does not count", objects: map[observed.ObjectRef]*unstructured.Unstructured{gateRef(g): obj},
			results: map[observed.GateKey]observed.GateResult{{Ref: gateRef(g), Current: "true"}: {Status: "Current"}}, message: "CEL expressions not evaluated yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gm := NewWithT(t)
			f := &failoverRun{sec: &observed.State{Name: "west", Objects: tc.objects, GateResults: tc.results}}
			ready, msg := f.gateReady(g)
			gm.Expect(ready).To(Equal(tc.ready))
			gm.Expect(msg).To(Equal(tc.message))
		})
	}
}
