package plans

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	. "github.com/onsi/gomega"
)

// rangedPlan writes every number and duration that has a default or a range on a line of its
// own, marked by its key in capitals: TestRanges writes one of them and leaves the others out.
const rangedPlan = `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: payments
spec:
  primary: east
  secondary: west
  schedule:
    cron: "*/15 * * * *"
    RETAIN
    CONCURRENCY
  RPO
  volumes:
    - name: pg-data
      REPLICAS
  waves:
    - name: database
      gates:
        - kind: StatefulSet
          namespace: payments
          name: pg
          TIMEOUT
      scale:
        - kind: StatefulSet
          namespace: payments
          name: pg
          SCALE
  activation:
    CATCHUPTIMEOUT
`

// rangedField is one number or duration of rangedPlan.
type rangedField struct {
	marker, key, path string
	// line and column are where its value is written.
	line, column int
	// value reads it from the loaded plan.
	value func(p *Plan) string
	// otherwise is what rangedPlan says when the case is about another field: left out, or
	// (for a required field) a valid value.
	otherwise string
}

var rangedFields = map[string]rangedField{
	"retain": {marker: "RETAIN", key: "retain", path: "spec.schedule.retain", line: 10, column: 13,
		value: func(p *Plan) string { return fmt.Sprint(p.Spec.Schedule.Retain) }},
	"concurrency": {marker: "CONCURRENCY", key: "concurrency", path: "spec.schedule.concurrency", line: 11, column: 18,
		value: func(p *Plan) string { return fmt.Sprint(p.Spec.Schedule.Concurrency) }},
	"rpo": {marker: "RPO", key: "rpo", path: "spec.rpo", line: 12, column: 8, otherwise: "30m",
		value: func(p *Plan) string { return p.Spec.RPO.String() }},
	"replicas": {marker: "REPLICAS", key: "replicas", path: "spec.volumes[0].replicas", line: 15, column: 17,
		value: func(p *Plan) string { return fmt.Sprint(p.Spec.Volumes[0].Replicas) }},
	"timeout": {marker: "TIMEOUT", key: "timeout", path: "spec.waves[0].gates[0].timeout", line: 22, column: 20,
		value: func(p *Plan) string { return p.Spec.Waves[0].Gates[0].Timeout.String() }},
	"scale": {marker: "SCALE", key: "replicas", path: "spec.waves[0].scale[0].replicas", line: 27, column: 21, otherwise: "2",
		value: func(p *Plan) string { return fmt.Sprint(p.Spec.Waves[0].Scale[0].Replicas) }},
	"catchUpTimeout": {marker: "CATCHUPTIMEOUT", key: "catchUpTimeout", path: "spec.activation.catchUpTimeout", line: 29, column: 21,
		value: func(p *Plan) string { return p.Spec.Activation.CatchUpTimeout.String() }},
}

// nulls are the ways to write a field without a value; such a field counts as left out.
var nulls = []string{"null", "~", ""}

// writeRanged returns rangedPlan with field written as text ("left out": a comment instead of
// the field), and every other field as its otherwise says.
func writeRanged(field, text string) string {
	var pairs []string
	for name, f := range rangedFields {
		v := f.otherwise
		if name == field {
			v = text
		}
		line := f.key + ": " + v
		switch {
		case v == "left out" || (v == "" && name != field):
			line = "# " + f.key + " left out"
		case v == "":
			line = f.key + ":"
		}
		pairs = append(pairs, f.marker, line)
	}
	return strings.NewReplacer(pairs...).Replace(rangedPlan)
}

// TestRanges checks every number and duration with a default or a range: left out (or null),
// it takes its default; written in range, it is kept; written out of range (0 included), it is
// a problem at its value, naming the range and the value written.
func TestRanges(t *testing.T) {
	tests := []struct {
		field   string
		written string
		want    string // the value loaded
		problem string // the one problem, without its position and field
	}{
		{field: "retain", written: "left out", want: "10"},
		{field: "retain", written: "null", want: "10"},
		{field: "retain", written: "", want: "10"},
		{field: "retain", written: "1", want: "1"},
		{field: "retain", written: "100", want: "100"},
		{field: "retain", written: "0", want: "0", problem: "must be 1 to 100, got 0"},
		{field: "retain", written: "-3", want: "-3", problem: "must be 1 to 100, got -3"},
		{field: "retain", written: "101", want: "101", problem: "must be 1 to 100, got 101"},

		{field: "concurrency", written: "left out", want: "1"},
		{field: "concurrency", written: "~", want: "1"},
		{field: "concurrency", written: "1", want: "1"},
		{field: "concurrency", written: "100", want: "100"},
		{field: "concurrency", written: "0", want: "0", problem: "must be 1 to 100, got 0"},
		{field: "concurrency", written: "-1", want: "-1", problem: "must be 1 to 100, got -1"},
		{field: "concurrency", written: "101", want: "101", problem: "must be 1 to 100, got 101"},

		{field: "replicas", written: "left out", want: "3"},
		{field: "replicas", written: "null", want: "3"},
		{field: "replicas", written: "1", want: "1"},
		{field: "replicas", written: "20", want: "20"},
		{field: "replicas", written: "0", want: "0", problem: "must be 1 to 20, got 0"},
		{field: "replicas", written: "-1", want: "-1", problem: "must be 1 to 20, got -1"},
		{field: "replicas", written: "21", want: "21", problem: "must be 1 to 20, got 21"},

		{field: "timeout", written: "left out", want: "10m"},
		{field: "timeout", written: "null", want: "10m"},
		{field: "timeout", written: "1s", want: "1s"},
		{field: "timeout", written: "2h30m", want: "2h30m"},
		{field: "timeout", written: "0s", want: "0s", problem: "must be positive, got 0s"},
		{field: "timeout", written: "-5m", want: "-5m", problem: "must be positive, got -5m"},

		{field: "catchUpTimeout", written: "left out", want: "10m"},
		{field: "catchUpTimeout", written: "null", want: "10m"},
		{field: "catchUpTimeout", written: "90s", want: "1m30s"},
		{field: "catchUpTimeout", written: "0s", want: "0s", problem: "must be positive, got 0s"},
		{field: "catchUpTimeout", written: "-1m", want: "-1m", problem: "must be positive, got -1m"},

		// Required, without a default.
		{field: "rpo", written: "left out", want: "0s", problem: "required: the recovery point objective, such as 30m"},
		{field: "rpo", written: "null", want: "0s", problem: "required: the recovery point objective, such as 30m"},
		{field: "rpo", written: "16m", want: "16m"},
		{field: "rpo", written: "0s", want: "0s", problem: "must be positive, got 0s"},
		{field: "rpo", written: "-30m", want: "-30m", problem: "must be positive, got -30m"},

		{field: "scale", written: "left out", want: "0", problem: "required: the number of replicas to scale to, at least 1"},
		{field: "scale", written: "1", want: "1"},
		{field: "scale", written: "500", want: "500"},
		{field: "scale", written: "0", want: "0", problem: "must be at least 1, got 0"},
		{field: "scale", written: "-2", want: "-2", problem: "must be at least 1, got -2"},
	}
	for _, tt := range tests {
		t.Run(tt.field+" "+cmp.Or(tt.written, "(nothing)"), func(t *testing.T) {
			g := NewWithT(t)
			f := rangedFields[tt.field]
			text := writeRanged(tt.field, tt.written)
			set, problems := LoadFS(fstest.MapFS{"p.yaml": {Data: []byte(text)}}, "p.yaml")
			g.Expect(set.Plans).To(HaveLen(1), text)
			p := set.Plans[0]
			g.Expect(f.value(p)).To(Equal(tt.want), text)
			g.Expect(p.Written(f.path)).To(Equal(tt.written != "left out" && !slices.Contains(nulls, tt.written)))
			if tt.problem == "" {
				g.Expect(problemLines(problems)).To(BeEmpty(), text)
				return
			}
			line, column := f.line, f.column
			if !p.Written(f.path) {
				pos := p.Position(f.path) // left out or null: its value, else its nearest parent
				line, column = pos.Line, pos.Column
				g.Expect(line).To(BeNumerically(">", 1))
			}
			g.Expect(problemLines(problems)).To(Equal([]string{
				fmt.Sprintf("p.yaml:%d:%d: %s: %s", line, column, f.path, tt.problem),
			}), text)
		})
	}
}

// TestRangesLeftOut loads the plan with every optional number and duration left out: each
// takes its default, and the plan is valid.
func TestRangesLeftOut(t *testing.T) {
	g := NewWithT(t)
	set, problems := LoadFS(fstest.MapFS{"p.yaml": {Data: []byte(writeRanged("", "left out"))}}, "p.yaml")
	g.Expect(problems).To(BeEmpty())
	p := set.Plans[0]
	g.Expect(p.Spec.Schedule.Retain).To(Equal(DefaultRetain))
	g.Expect(p.Spec.Schedule.Concurrency).To(Equal(DefaultConcurrency))
	g.Expect(p.Spec.Volumes[0].Replicas).To(Equal(DefaultReplicas))
	g.Expect(p.Spec.Waves[0].Gates[0].Timeout.Duration).To(Equal(DefaultGateTimeout))
	g.Expect(p.Spec.Activation.CatchUpTimeout.Duration).To(Equal(DefaultCatchUpTimeout))
	for _, f := range rangedFields {
		g.Expect(p.Written(f.path)).To(Equal(f.otherwise != ""), f.path)
	}
}
