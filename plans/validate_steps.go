package plans

import (
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Limits of the steps a plan adds to backups and failover.
const (
	MinJobBackoffLimit = 0
	MaxJobBackoffLimit = 10
)

// validateConsistency checks schedule.consistency, and that an application-consistent schedule
// has hooks to run: without any, its backups would be called application-consistent and be no
// more than crash-consistent.
func validateConsistency(f *findings, s *Spec) {
	switch s.Schedule.Consistency {
	case CrashConsistent, "":
	case ApplicationConsistent:
		for _, w := range s.Waves {
			if w.BackupHooks != nil && len(w.BackupHooks.Pre)+len(w.BackupHooks.Post) > 0 {
				return
			}
		}
		f.Add("spec.schedule.consistency", "application needs backupHooks on a wave (spec.waves[].backupHooks.pre): without hooks the backups are only crash-consistent")
	default:
		f.Add("spec.schedule.consistency", "must be %s or %s, got %q", CrashConsistent, ApplicationConsistent, s.Schedule.Consistency)
	}
}

// validateApply checks a set of manifests to apply: a path inside the plans repository.
func validateApply(f *findings, p string, a *Apply) {
	switch {
	case a.Path == "":
		f.Add(p+".path", "required: a file or directory of the plans repository, relative to the plan's file")
	case path.IsAbs(a.Path) || strings.HasPrefix(a.Path, "/"):
		f.Add(p+".path", "must be relative to the plan's file, got %q", a.Path)
	case strings.Contains(a.Path, `\`):
		f.Add(p+".path", "must use / between directories, got %q", a.Path)
	}
	f.positive(p+".timeout", a.Timeout)
}

// validateHooks checks a wave's backup hooks.
func validateHooks(f *findings, p string, h *BackupHooks) {
	f.positive(p+".snapshotTimeout", h.SnapshotTimeout)
	seen := map[string]string{}
	for _, list := range []struct {
		field string
		hooks []Hook
	}{{"pre", h.Pre}, {"post", h.Post}} {
		for i, hook := range list.hooks {
			hp := fmt.Sprintf("%s.%s[%d]", p, list.field, i)
			if f.name(hp+".name", hook.Name, validation.IsDNS1123Label, 0) {
				f.unique(seen, hook.Name, hp+".name", "hook %q is already defined at %s")
			}
			validateHook(f, hp, list.field, hook)
		}
	}
}

func validateHook(f *findings, hp, list string, h Hook) {
	switch {
	case h.Exec == nil && h.ScaleToZero == nil:
		f.Add(hp, "required: exec or scaleToZero")
	case h.Exec != nil && h.ScaleToZero != nil:
		f.Add(hp+".scaleToZero", "a hook is exec or scaleToZero, not both")
	case h.Exec != nil:
		e := h.Exec
		f.name(hp+".exec.namespace", e.Namespace, validation.IsDNS1123Label, 0)
		if len(e.Selector) == 0 {
			f.Add(hp+".exec.selector", "required: the labels of the pods to run the command in")
		}
		for k, v := range e.Selector {
			if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
				f.Add(hp+".exec.selector", "invalid label key %q: %s", k, strings.Join(msgs, "; "))
			}
			if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
				f.Add(hp+".exec.selector."+k, "invalid label value %q: %s", v, strings.Join(msgs, "; "))
			}
		}
		if e.Container != "" {
			f.name(hp+".exec.container", e.Container, validation.IsDNS1123Label, 0)
		}
		if len(e.Command) == 0 || e.Command[0] == "" {
			f.Add(hp+".exec.command", "required: the command and its arguments")
		}
	default:
		w := h.ScaleToZero
		if list != "pre" {
			f.Add(hp+".scaleToZero", "only in pre: a workload scaled to zero by a pre hook is scaled back after the post hooks")
		}
		f.object(hp+".scaleToZero", w.APIVersion, w.Kind, w.Name)
		f.name(hp+".scaleToZero.namespace", w.Namespace, validation.IsDNS1123Label, 0)
	}
	switch h.OnError {
	case HookFail, HookContinue:
	default:
		f.Add(hp+".onError", "must be %s or %s, got %q", HookFail, HookContinue, h.OnError)
	}
	f.positive(hp+".timeout", h.Timeout)
}

// validateJobGate checks the Job a gate runs.
func validateJobGate(f *findings, gp string, g Gate) {
	j := g.Job
	if g.Kind != "Job" || g.APIVersion != "batch/v1" {
		f.Add(gp+".kind", "must be Job (apiVersion batch/v1) for a gate that runs a Job, got %s %s", g.APIVersion, g.Kind)
	}
	if g.Namespace == "" {
		f.Add(gp+".namespace", "required: the namespace the Job runs in")
	}
	if g.Current != "" {
		f.Add(gp+".current", "a gate that runs a Job is ready when the Job completes: no CEL expression")
	}
	if j.Image == "" {
		f.Add(gp+".job.image", "required")
	}
	if len(j.Command) == 0 || j.Command[0] == "" {
		f.Add(gp+".job.command", "required: the command of the Job's container")
	}
	for i, e := range j.Env {
		if msgs := validation.IsEnvVarName(e.Name); len(msgs) > 0 {
			f.Add(fmt.Sprintf("%s.job.env[%d].name", gp, i), "invalid name %q: %s", e.Name, strings.Join(msgs, "; "))
		}
	}
	if j.ServiceAccountName != "" {
		f.name(gp+".job.serviceAccountName", j.ServiceAccountName, validation.IsDNS1123Subdomain, 0)
	}
	f.between(gp+".job.backoffLimit", int(j.BackoffLimit), MinJobBackoffLimit, MaxJobBackoffLimit)
}

// validateDrill checks a plan's drill: its id and namespace are names, and the namespace is
// none the plan's own objects live in (a drill must never touch them).
func validateDrill(f *findings, s *Spec) {
	d := s.Drill
	f.name("spec.drill.id", d.ID, validation.IsDNS1123Label, 0)
	if f.name("spec.drill.namespace", d.Namespace, validation.IsDNS1123Label, 0) {
		if where := planNamespaces(s)[d.Namespace]; where != "" {
			f.Add("spec.drill.namespace", "%q is a namespace of the plan's own objects (%s): a drill needs a namespace of its own", d.Namespace, where)
		}
	}
	f.positive("spec.drill.keepFor", d.KeepFor)
}

// planNamespaces are the namespaces the plan's claims, workloads, gates and hooks name, each
// with the first field that names it.
func planNamespaces(s *Spec) map[string]string {
	out := map[string]string{}
	add := func(ns, field string) {
		if _, ok := out[ns]; !ok && ns != "" {
			out[ns] = field
		}
	}
	for i, v := range s.Volumes {
		if v.PVC != nil {
			add(v.PVC.Namespace, fmt.Sprintf("spec.volumes[%d].pvc.namespace", i))
		}
	}
	for i, w := range s.Waves {
		for j, sc := range w.Scale {
			add(sc.Namespace, fmt.Sprintf("spec.waves[%d].scale[%d].namespace", i, j))
		}
		for j, g := range w.Gates {
			add(g.Namespace, fmt.Sprintf("spec.waves[%d].gates[%d].namespace", i, j))
		}
		if h := w.BackupHooks; h != nil {
			for _, list := range []struct {
				field string
				hooks []Hook
			}{{"pre", h.Pre}, {"post", h.Post}} {
				for j, hook := range list.hooks {
					field := fmt.Sprintf("spec.waves[%d].backupHooks.%s[%d]", i, list.field, j)
					switch {
					case hook.Exec != nil:
						add(hook.Exec.Namespace, field+".exec.namespace")
					case hook.ScaleToZero != nil:
						add(hook.ScaleToZero.Namespace, field+".scaleToZero.namespace")
					}
				}
			}
		}
	}
	return out
}
