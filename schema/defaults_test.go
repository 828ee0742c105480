package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/invopop/jsonschema"
	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/plans"
)

// flatten maps the leaves of JSON data to their paths (spec.volumes[0].name); an empty object
// or list is a leaf.
func flatten(prefix string, v any, out map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			out[prefix] = v
		}
		for k, c := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, c, out)
		}
	case []any:
		if len(v) == 0 {
			out[prefix] = v
		}
		for i, c := range v {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), c, out)
		}
	default:
		out[prefix] = v
	}
}

func toJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// at returns the value at a schema path (spec.volumes[].name) in JSON data, taking the first
// element of every list.
func at(data any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		list := strings.HasSuffix(part, "[]")
		m, ok := data.(map[string]any)
		if !ok {
			return nil, false
		}
		if data, ok = m[strings.TrimSuffix(part, "[]")]; !ok {
			return nil, false
		}
		if list {
			l, ok := data.([]any)
			if !ok || len(l) == 0 {
				return nil, false
			}
			data = l[0]
		}
	}
	return data, true
}

// isZero reports whether JSON data is the encoding of a Go zero value.
func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == "" || v == "0s"
	case float64:
		return v == 0
	case bool:
		return !v
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, c := range v {
			if !isZero(c) {
				return false
			}
		}
		return true
	}
	return false
}

var index = regexp.MustCompile(`\[\d+\]`)

// schemaPaths returns, for every field of s, its description.
func schemaPaths(s *jsonschema.Schema) map[string]string {
	out := map[string]string{}
	walk(s, func(path string, p *jsonschema.Schema) { out[path] = p.Description })
	return out
}

// documented reports whether the field at path has a Default sentence, or is inside a field
// whose default is a literal object or list that holds it (metrics.listen in
// `{"listen": ":8080"}`).
func documented(descriptions map[string]string, path string) bool {
	path = strings.TrimSuffix(path, "[]") // an element of a list: the list's default
	if _, ok := DefaultText(descriptions[path]); ok {
		return true
	}
	for p := parentPath(path); p != ""; p = parentPath(p) {
		if _, literal, _ := DefaultOf(descriptions[p]); literal {
			return true
		}
	}
	return false
}

// parentPath returns the field holding path: spec.volumes for spec.volumes[].name.
func parentPath(path string) string {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(path[:i], "[]")
}

// TestDocumentedDefaults ties the documentation to SetDefaults, both ways, on probes that
// leave every defaulted field empty: every literal default the docs and schema announce is
// the value SetDefaults gives, and every field SetDefaults fills has a Default sentence.
func TestDocumentedDefaults(t *testing.T) {
	planProbes := func() []any {
		full := &plans.DRPlan{Spec: plans.Spec{
			Volumes: []plans.Volume{{Name: "v", PVC: &plans.PersistentVolumeClaim{Namespace: "n", Name: "c"}}},
			Waves: []plans.Wave{{Name: "w",
				Gates: []plans.Gate{{Kind: "Job", Name: "j", Job: &plans.JobGate{Image: "i", Command: []string{"c"}}}, {Kind: "StatefulSet", Name: "g"}},
				Scale: []plans.Scale{{Kind: "Deployment", Name: "s", Replicas: 1}},
				Apply: &plans.Apply{Path: "m"},
				BackupHooks: &plans.BackupHooks{
					Pre:  []plans.Hook{{Exec: &plans.ExecHook{Namespace: "n"}}, {ScaleToZero: &plans.WorkloadRef{Kind: "Deployment", Namespace: "n", Name: "d"}}},
					Post: []plans.Hook{{Exec: &plans.ExecHook{Namespace: "n"}}},
				}}},
			Traffic: &plans.Apply{Path: "t"},
			Drill:   &plans.Drill{ID: "d", Namespace: "drill"},
		}}
		bare := &plans.DRPlan{Spec: plans.Spec{Volumes: []plans.Volume{{Name: "v"}}}}
		return []any{full, bare}
	}
	configProbes := func() []any {
		return []any{&config.AgentConfig{
			Clusters: []config.Cluster{{Name: "a", Kubeconfig: "k"}},
			Webhook:  &config.Webhook{},
			Forge:    &config.Forge{Kind: "github"},
			// Off unless set: each field's default is what an empty one means.
			FailoverAuthorization: &config.FailoverAuthorization{},
		}}
	}
	tests := []struct {
		kind     Kind
		probes   func() []any
		defaults func(any)
	}{
		{Kinds[0], planProbes, func(v any) { plans.SetDefaults(v.(*plans.DRPlan)) }},
		{Kinds[1], configProbes, func(v any) { config.SetDefaults(v.(*config.AgentConfig)) }},
	}
	for _, tt := range tests {
		t.Run(tt.kind.Name, func(t *testing.T) {
			g := NewWithT(t)
			s, err := Reflect(tt.kind)
			g.Expect(err).NotTo(HaveOccurred())
			descriptions := schemaPaths(s)

			var before, after []any
			for _, p := range tt.probes() {
				before = append(before, toJSON(t, p))
				tt.defaults(p)
				after = append(after, toJSON(t, p))
			}

			literals := 0
			walk(s, func(path string, p *jsonschema.Schema) {
				if p.Default == nil {
					return
				}
				literals++
				found := false
				for i, a := range after {
					if old, ok := at(before[i], path); ok && !isZero(old) {
						continue // the probe sets this field: SetDefaults keeps it
					}
					if v, ok := at(a, path); ok {
						g.Expect(v).To(Equal(toJSON(t, p.Default)), "%s: documented default %v", path, p.Default)
						found = true
						break
					}
				}
				g.Expect(found).To(BeTrue(), "%s: no probe leaves this field empty; extend the probes", path)
			})
			g.Expect(literals).To(BeNumerically(">=", 5))

			for i := range after {
				was, is := map[string]any{}, map[string]any{}
				flatten("", before[i], was)
				flatten("", after[i], is)
				var paths []string
				for p, v := range is {
					if old, ok := was[p]; !ok || fmt.Sprint(old) != fmt.Sprint(v) {
						paths = append(paths, index.ReplaceAllString(p, "[]"))
					}
				}
				slices.Sort(paths)
				g.Expect(paths).NotTo(BeEmpty())
				for _, p := range slices.Compact(paths) {
					g.Expect(documented(descriptions, p)).To(BeTrue(), "SetDefaults fills %s, but its docs say no default", p)
				}
			}
		})
	}
}
