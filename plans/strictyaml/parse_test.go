package strictyaml

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	. "github.com/onsi/gomega"
)

// lol is a billion-laughs document: levels of aliases, each ten of the level below.
func lol(levels int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		b.WriteString("a" + itoa(i) + ": &a" + itoa(i) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + itoa(i-1))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestParseHostileInput feeds Parse what a plans repository should never hold but might:
// each input gives exactly one clear problem and never a panic. How fast is
// BenchmarkParseHostileInput's business.
func TestParseHostileInput(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "f.yaml:1:1: .: file is empty: no YAML document in it"},
		{"blank lines", []byte("\n\n   \n"), "f.yaml:1:1: .: file is empty: no YAML document in it"},
		{"only separators and nulls", []byte("---\n---\n~\n...\n"), "f.yaml:1:1: .: file is empty: no YAML document in it"},
		{"binary", []byte("kind: x\n\x00\x01\x02"), "f.yaml:2:1: .: binary content (NUL byte): not a YAML text file"},
		{"invalid UTF-8 after multibyte characters", []byte("name: café\nnote: ß\xff\n"), "f.yaml:2:8: .: invalid UTF-8 (byte 0xff): YAML files must be UTF-8 text"},
		{"UTF-16", []byte{0xFF, 0xFE, 'a', 0, ':', 0}, "f.yaml:1:1: .: UTF-16 or UTF-32 text: YAML files must be UTF-8"},
		{"too large", bytes.Repeat([]byte("# padding\n"), MaxFileSize/10+1), "f.yaml:1:1: .: file is 1048580 bytes, above the limit of 1048576 bytes (1 MiB)"},
		{"deep flow nesting", []byte(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)), "f.yaml:1:1: .: YAML syntax error: exceeded max depth of 10000"},
		{"deep block nesting", []byte(strings.Repeat("- ", 20_000) + "x\n"), "f.yaml:1:1: .: YAML syntax error: exceeded max depth of 10000"},
		{"billion laughs", []byte(lol(9)), "f.yaml:1:1: .: document expands to more than 200000 values through aliases (an alias bomb?): not read"},
		{"alias inside its anchor", []byte("a: &a {b: *a}\n"), "f.yaml:1:11: .: alias *a is inside the value it names: it would expand forever"},
		{"syntax error", []byte("a: b\n  c: d\n"), "f.yaml:2:1: .: YAML syntax error: mapping values are not allowed in this context"},
		{"unterminated flow", []byte("a: [b, c\n"), "f.yaml:1:1: .: YAML syntax error: did not find expected ',' or ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, problems := Parse("f.yaml", tt.data)
			g.Expect(problems).To(HaveLen(1))
			g.Expect(problems[0].String()).To(Equal(tt.want))
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestParseDocuments(t *testing.T) {
	g := NewWithT(t)
	data := []byte(`# head
apiVersion: drplan.io/v1alpha1
kind: DRPlan
---
---
apiVersion: v1
kind: ConfigMap
---
- just
- a list
---
kind: 42
apiVersion: [x]
---
a: &big [` + strings.Repeat("x, ", 10) + `x]
b: [*big, *big]
`)
	docs, problems := Parse("f.yaml", data)
	g.Expect(problems).To(BeEmpty())
	type summary struct {
		Index            int
		APIVersion, Kind string
		Line             int
	}
	var got []summary
	for _, d := range docs {
		got = append(got, summary{d.Index, d.APIVersion, d.Kind, d.Start().Line})
	}
	g.Expect(got).To(Equal([]summary{
		{0, "drplan.io/v1alpha1", "DRPlan", 2},
		{2, "v1", "ConfigMap", 6},
		{3, "", "", 9},
		{4, "", "", 12},
		{5, "", "", 15},
	}))
}

func TestParseKeepsDocumentsBeforeASyntaxError(t *testing.T) {
	g := NewWithT(t)
	docs, problems := Parse("f.yaml", []byte("kind: A\n---\nkind: B\n---\nkind: [\n"))
	g.Expect(docs).To(HaveLen(2))
	g.Expect(problems).To(HaveLen(1))
	g.Expect(problems[0].Message).To(HavePrefix("YAML syntax error: "))
}

func TestReadFile(t *testing.T) {
	fsys := fstest.MapFS{
		"small.yaml": {Data: []byte("a: 1\n")},
		"big.yaml":   {Data: bytes.Repeat([]byte("a"), MaxFileSize+1)},
	}
	tests := []struct {
		name    string
		want    string
		problem string
	}{
		{name: "small.yaml", want: "a: 1\n"},
		{name: "big.yaml", problem: "big.yaml:1:1: .: file is 1048577 bytes, above the limit of 1048576 bytes (1 MiB)"},
		{name: "missing.yaml", problem: "missing.yaml:1:1: .: cannot read file: file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			data, p := ReadFile(fsys, tt.name)
			if tt.problem != "" {
				g.Expect(p).NotTo(BeNil())
				g.Expect(p.String()).To(Equal(tt.problem))
				return
			}
			g.Expect(p).To(BeNil())
			g.Expect(string(data)).To(Equal(tt.want))
		})
	}
}
