package agent

import (
	"context"

	kustomize "github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/plans"
)

// evaluateCELGates evaluates the CEL gates of the failovers in progress on the objects read for
// this pass, with Flux's custom health-check evaluator, into each state's GateResults: the
// planner stays a pure function of what was observed.
func evaluateCELGates(ctx context.Context, in planner.Input) {
	for name, gates := range planner.FailoverGates(in) {
		s := in.Clusters[name]
		if s == nil {
			continue
		}
		for _, g := range gates {
			if g.Current == "" {
				continue
			}
			obj, read := s.Objects[planner.CELGateKey(g).Ref]
			if !read || obj == nil {
				continue // the planner says not read or not found
			}
			if s.GateResults == nil {
				s.GateResults = map[observed.GateKey]observed.GateResult{}
			}
			s.GateResults[planner.CELGateKey(g)] = evaluateCELGate(ctx, g, obj)
		}
	}
}

// evaluateCELGate is one gate's kstatus status as its expressions say.
func evaluateCELGate(ctx context.Context, g plans.Gate, obj *unstructured.Unstructured) observed.GateResult {
	ev, err := cel.NewStatusEvaluator(&kustomize.HealthCheckExpressions{Current: g.Current, Failed: g.Failed, InProgress: g.InProgress})
	if err != nil {
		return observed.GateResult{Message: err.Error()}
	}
	res, err := ev.Evaluate(ctx, obj)
	if err != nil {
		return observed.GateResult{Message: err.Error()}
	}
	return observed.GateResult{Status: string(res.Status)}
}
