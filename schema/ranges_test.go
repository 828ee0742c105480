package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	. "github.com/onsi/gomega"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/drplan/drplan/plans"
)

// rangesPlan is a valid plan that writes every number and duration with a range.
const rangesPlan = `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata: {name: payments}
spec:
  primary: east
  secondary: west
  schedule: {cron: "*/15 * * * *", retain: 10, concurrency: 1}
  rpo: 30m
  volumes: [{name: pg-data, replicas: 3}]
  waves:
    - name: database
      gates: [{kind: StatefulSet, namespace: payments, name: pg, timeout: 10m}]
      scale: [{kind: StatefulSet, namespace: payments, name: pg, replicas: 2}]
  activation: {catchUpTimeout: 10m}
`

// TestSchemaRangesMatchValidation writes each number and duration at and around the ends of
// its range, and checks that the schema accepts exactly what drplan validate accepts.
func TestSchemaRangesMatchValidation(t *testing.T) {
	counts := []any{-1, 0, 1, 2, 19, 20, 21, 99, 100, 101, 2147483647}
	durations := []any{"-1m", "-0s", "0", "0s", "0m0s", "0.0h", "1ns", "0.5s", "1s", "16m", "10h"}
	fields := []struct {
		path   []any
		values []any
	}{
		{[]any{"spec", "schedule", "retain"}, counts},
		{[]any{"spec", "schedule", "concurrency"}, counts},
		{[]any{"spec", "volumes", 0, "replicas"}, counts},
		{[]any{"spec", "waves", 0, "scale", 0, "replicas"}, counts},
		{[]any{"spec", "rpo"}, durations},
		{[]any{"spec", "waves", 0, "gates", 0, "timeout"}, durations},
		{[]any{"spec", "activation", "catchUpTimeout"}, durations},
	}
	s := compile(t, "drplan.schema.json")
	for _, f := range fields {
		for _, v := range f.values {
			t.Run(fmt.Sprint(f.path, "=", v), func(t *testing.T) {
				g := NewWithT(t)
				var doc map[string]any
				g.Expect(yaml.Unmarshal([]byte(rangesPlan), &doc)).To(Succeed())
				set(doc, f.path, v)
				text, err := yaml.Marshal(doc)
				g.Expect(err).NotTo(HaveOccurred())

				_, all := plans.LoadFS(fstest.MapFS{"p.yaml": {Data: text}}, "p.yaml")
				// Comparing the RPO or the retention with the schedule is beyond a schema (see
				// schemaBlind).
				problems := slices.DeleteFunc(all, func(p plans.Problem) bool {
					return strings.Contains(p.Message, "can never be met") || strings.Contains(p.Message, "smallest safe value")
				})
				data, err := json.Marshal(doc)
				g.Expect(err).NotTo(HaveOccurred())
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
				g.Expect(err).NotTo(HaveOccurred())
				schemaErr := s.Validate(inst)
				g.Expect(schemaErr == nil).To(Equal(len(problems) == 0), "schema: %v; drplan validate: %v", schemaErr, problems)
			})
		}
	}
}

// set writes v at path (keys and list indexes) in YAML data.
func set(data any, path []any, v any) {
	for i, key := range path {
		last := i == len(path)-1
		switch k := key.(type) {
		case string:
			m := data.(map[string]any)
			if last {
				m[k] = v
				return
			}
			data = m[k]
		case int:
			l := data.([]any)
			if last {
				l[k] = v
				return
			}
			data = l[k]
		}
	}
}
