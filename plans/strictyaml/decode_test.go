package strictyaml

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

type testDoc struct {
	Name     string            `json:"name"`
	Count    int               `json:"count"`
	Small    int8              `json:"small"`
	Enabled  bool              `json:"enabled"`
	Timeout  Duration          `json:"timeout"`
	Items    []testItem        `json:"items"`
	Tags     []string          `json:"tags"`
	Child    *testItem         `json:"child,omitempty"`
	Skipped  string            `json:"-"`
	internal string            //nolint:unused // proves unexported fields are not decoded
	Nested   testNested        `json:"nested"`
	Labels   map[string]string `json:"labels"`
}

type testItem struct {
	ID    string `json:"id"`
	Value int    `json:"value,omitempty"`
}

type testNested struct {
	Level testItem `json:"level"`
}

func decodeString(t *testing.T, text string, opts Options) (*testDoc, *Locations, []Problem) {
	t.Helper()
	docs, problems := Parse("f.yaml", []byte(text))
	if len(problems) > 0 || len(docs) != 1 {
		t.Fatalf("parse %q: %v (%d documents)", text, problems, len(docs))
	}
	var out testDoc
	locs, problems := Decode(docs[0], &out, opts)
	return &out, locs, problems
}

func TestDecodeValues(t *testing.T) {
	g := NewWithT(t)
	out, _, problems := decodeString(t, `
name: hello
count: 0x10
small: -8
enabled: true
timeout: 1h30m
items:
  - {id: a, value: 1}
  - id: b
tags: [x, "y", 'z']
child: {id: c}
nested: {level: {id: deep}}
labels: {drplan.io/shard: eu, team: "a"}
`, Options{})
	g.Expect(problems).To(BeEmpty())
	g.Expect(*out).To(Equal(testDoc{
		Name: "hello", Count: 16, Small: -8, Enabled: true,
		Timeout: Duration{90 * time.Minute},
		Items:   []testItem{{ID: "a", Value: 1}, {ID: "b"}},
		Tags:    []string{"x", "y", "z"},
		Child:   &testItem{ID: "c"},
		Nested:  testNested{Level: testItem{ID: "deep"}},
		Labels:  map[string]string{"drplan.io/shard": "eu", "team": "a"},
	}))
}

func TestDecodeAliasesAndNulls(t *testing.T) {
	g := NewWithT(t)
	out, _, problems := decodeString(t, `
name: &n shared
items:
  - &item {id: *n, value: 2}
  - *item
tags: ~
child: null
`, Options{})
	g.Expect(problems).To(BeEmpty())
	g.Expect(out.Items).To(Equal([]testItem{{ID: "shared", Value: 2}, {ID: "shared", Value: 2}}))
	g.Expect(out.Tags).To(BeNil())
	g.Expect(out.Child).To(BeNil())
}

func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		text string
		opts Options
		want []string
	}{
		{"unknown field with a suggestion", "nmae: x\n", Options{},
			[]string{`f.yaml:1:1: nmae: unknown field "nmae"; did you mean "name"?`}},
		{"unknown field in a list item", "items:\n  - id: a\n    valeu: 3\n", Options{},
			[]string{`f.yaml:3:5: items[0].valeu: unknown field "valeu"; did you mean "value"?`}},
		{"unknown field listing the known ones", "nested:\n  other: 1\n", Options{},
			[]string{`f.yaml:2:3: nested.other: unknown field "other" (known fields: level)`}},
		{"unknown field with a hint", "token: abc\n", Options{Hint: func(path, key string) string {
			if key == "token" {
				return "secrets go in files"
			}
			return ""
		}}, []string{`f.yaml:1:1: token: unknown field "token": secrets go in files`}},
		{"duplicate key", "name: a\ncount: 1\nname: b\n", Options{},
			[]string{`f.yaml:3:1: name: duplicate key "name" (first at line 1)`}},
		{"string expected", "name: 12\n", Options{},
			[]string{`f.yaml:1:7: name: must be a string, got the number 12 (quote it: "12")`}},
		{"string expected, got a mapping", "name: {a: b}\n", Options{},
			[]string{`f.yaml:1:7: name: must be a string, got a mapping`}},
		{"integer expected", "count: twelve\n", Options{},
			[]string{`f.yaml:1:8: count: must be a whole number, got the string "twelve"`}},
		{"integer expected, got a float", "count: 1.5\n", Options{},
			[]string{`f.yaml:1:8: count: must be a whole number, got the number 1.5`}},
		{"integer out of range", "small: 300\n", Options{},
			[]string{`f.yaml:1:8: small: number 300 is out of range`}},
		{"boolean expected", "enabled: yes\n", Options{},
			[]string{`f.yaml:1:10: enabled: must be true or false, got the string "yes"`}},
		{"duration without a unit", "timeout: 30\n", Options{},
			[]string{`f.yaml:1:10: timeout: must be a duration with a unit, such as 90s, 30m or 1h30m, got the number 30`}},
		{"invalid duration", "timeout: soon\n", Options{},
			[]string{`f.yaml:1:10: timeout: invalid duration "soon": write a number and a unit, such as 90s, 30m or 1h30m`}},
		{"list expected", "items: a\n", Options{},
			[]string{`f.yaml:1:8: items: must be a list, got the string "a"`}},
		{"mapping expected", "nested: [a]\n", Options{},
			[]string{`f.yaml:1:9: nested: must be a mapping of fields, got a list`}},
		{"mapping expected at the top", "- a\n", Options{},
			[]string{`f.yaml:1:1: .: must be a mapping of fields, got a list`}},
		{"map value not a string", "labels: {tier: 1}\n", Options{},
			[]string{`f.yaml:1:16: labels.tier: must be a string, got the number 1 (quote it: "1")`}},
		{"map expected", "labels: [a]\n", Options{},
			[]string{`f.yaml:1:9: labels: must be a mapping, got a list`}},
		{"duplicate map key", "labels:\n  a: x\n  a: y\n", Options{},
			[]string{`f.yaml:3:3: labels.a: duplicate key "a" (first at line 2)`}},
		{"merge key in a map", "labels:\n  <<: {a: b}\n", Options{},
			[]string{`f.yaml:2:3: labels: merge keys (<<) are not supported: write the keys out`}},
		{"merge key", "base: &b {id: x}\nchild:\n  <<: *b\n", Options{},
			[]string{`f.yaml:1:1: base: unknown field "base" (known fields: child, count, enabled, items, labels, name, nested, small, tags, timeout)`,
				`f.yaml:3:3: child: merge keys (<<) are not supported: write the fields out`}},
		{"custom tag", "name: !vault secret/x\n", Options{},
			[]string{`f.yaml:1:7: name: custom YAML tag !vault is not supported`}},
		{"complex key", "? [a]\n: b\n", Options{},
			[]string{`f.yaml:1:3: .: a field name must be a plain word, got a list`}},
		{"problems do not stop the rest", "name: 1\ncount: x\nenabled: 2\n", Options{},
			[]string{
				`f.yaml:1:7: name: must be a string, got the number 1 (quote it: "1")`,
				`f.yaml:2:8: count: must be a whole number, got the string "x"`,
				`f.yaml:3:10: enabled: must be true or false, got the number 2`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, _, problems := decodeString(t, tt.text, tt.opts)
			var got []string
			for _, p := range Sorted(problems) {
				got = append(got, p.String())
			}
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

// TestDecodeBudget decodes a list whose items are written once and aliased many times: the
// values charged to the budget are the expanded ones.
func TestDecodeBudget(t *testing.T) {
	g := NewWithT(t)
	tags := strings.Repeat("t, ", 999) + "t"
	text := "items: [&i {id: x}" + strings.Repeat(", *i", 50) + "]\ntags: &t [" + tags + "]\n"
	docs, problems := Parse("f.yaml", []byte(text))
	g.Expect(problems).To(BeEmpty())
	var out testDoc
	_, problems = Decode(docs[0], &out, Options{})
	g.Expect(problems).To(BeEmpty())
	g.Expect(out.Items).To(HaveLen(51))
	g.Expect(out.Tags).To(HaveLen(1000))
}

func TestLocationsFind(t *testing.T) {
	g := NewWithT(t)
	_, locs, problems := decodeString(t, `name: hello
items:
  - id: a
  - id: b
    value: 2
nested:
  level:
    id: x
`, Options{})
	g.Expect(problems).To(BeEmpty())
	tests := []struct {
		path string
		want Position
	}{
		{"name", Position{1, 7}},               // a scalar: its value
		{"items", Position{2, 1}},              // a list: its key
		{"items[1]", Position{4, 5}},           // an item: where it starts
		{"items[1].value", Position{5, 12}},    // a scalar inside it
		{"items[0].value", Position{3, 5}},     // not written: its item
		{"nested.level.id", Position{8, 9}},    // deep scalar
		{"nested.level.other", Position{7, 3}}, // not written: the key of its parent
		{"child.id", Position{1, 1}},           // nothing written on the way: document start
		{"", Position{1, 1}},
	}
	for _, tt := range tests {
		g.Expect(locs.Find(tt.path)).To(Equal(tt.want), tt.path)
	}
}

func TestLocationsWritten(t *testing.T) {
	g := NewWithT(t)
	_, locs, problems := decodeString(t, `name: ""
count: 0
small: ~
timeout:
items:
  - id: a
nested: null
`, Options{})
	g.Expect(problems).To(BeEmpty())
	tests := []struct {
		path string
		want bool
	}{
		{"name", true},            // an empty string is a value
		{"count", true},           // so is 0
		{"small", false},          // null counts as left out
		{"timeout", false},        // nothing after the colon is null
		{"items[0].id", true},     //
		{"items[0].value", false}, // left out
		{"nested", false},
		{"nested.level", false},
		{"enabled", false},
	}
	for _, tt := range tests {
		g.Expect(locs.Written(tt.path)).To(Equal(tt.want), tt.path)
	}
	g.Expect(locs.Find("small")).To(Equal(Position{3, 8}), "a null field still has a position")
}

func TestParentAndJoin(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Parent("spec.volumes[0].name")).To(Equal("spec.volumes[0]"))
	g.Expect(Parent("spec.volumes[0]")).To(Equal("spec.volumes"))
	g.Expect(Parent("spec")).To(Equal(""))
	g.Expect(Join("", "spec")).To(Equal("spec"))
	g.Expect(Join("spec", "rpo")).To(Equal("spec.rpo"))
}
