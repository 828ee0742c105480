package planner

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/drplan/drplan/plans"
)

// ExecHookRef is an exec backup hook of a plan, and the cluster it runs in (the primary).
type ExecHookRef struct {
	Plan    string
	Cluster string
	// Field is the hook's path in the plan, such as spec.waves[0].backupHooks.pre[1]; it is the
	// hook's key in Input.HookPods.
	Field string
	Hook  *plans.ExecHook
}

// ExecHooks are the exec hooks of every valid plan: what a preview counts the running pods of
// (Input.HookPods).
func ExecHooks(in Input) []ExecHookRef {
	var out []ExecHookRef
	if in.Plans == nil {
		return out
	}
	for _, p := range in.Plans.Valid() {
		for i, w := range p.Spec.Waves {
			if w.BackupHooks == nil {
				continue
			}
			for _, list := range []struct {
				name  string
				hooks []plans.Hook
			}{{"pre", w.BackupHooks.Pre}, {"post", w.BackupHooks.Post}} {
				for j, h := range list.hooks {
					if h.Exec != nil {
						out = append(out, ExecHookRef{Plan: p.Name(), Cluster: p.Spec.Primary,
							Field: fmt.Sprintf("spec.waves[%d].backupHooks.%s[%d]", i, list.name, j), Hook: h.Exec})
					}
				}
			}
		}
	}
	return out
}

// hookSelections reports the exec hooks of p whose selector selects no running pod in the
// primary, when the pods were counted (a preview): such a hook would fail, and with onError Fail
// no backup between the hooks would be taken.
func (d *decider) hookSelections(p *plans.Plan, r *PlanReport) {
	if d.in.HookPods == nil {
		return
	}
	for _, h := range ExecHooks(Input{Plans: &plans.Set{Plans: []*plans.Plan{p}}}) {
		n, counted := d.in.HookPods[HookPodsKey(h)]
		if !counted || n > 0 {
			continue
		}
		pos := p.Position(h.Field + ".exec.selector")
		r.Problems = append(r.Problems, fmt.Sprintf("%s:%d:%d: %s.exec.selector: %s in namespace %s selects no running pod in cluster %s: the hook would fail",
			p.File, pos.Line, pos.Column, h.Field, selectorString(h.Hook.Selector), h.Hook.Namespace, h.Cluster))
	}
}

// HookPodsKey is the key of an exec hook in Input.HookPods.
func HookPodsKey(h ExecHookRef) string { return h.Plan + "/" + h.Field }

func selectorString(sel map[string]string) string {
	parts := make([]string, 0, len(sel))
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		parts = append(parts, k+"="+sel[k])
	}
	return strings.Join(parts, ",")
}
