package strictyaml

import (
	"strings"
	"testing"
)

// BenchmarkParseHostileInput measures the inputs built to exhaust a parser: each must be
// refused with one problem in milliseconds and little memory, never by expanding it.
func BenchmarkParseHostileInput(b *testing.B) {
	inputs := []struct {
		name string
		data []byte
	}{
		{"billion laughs", []byte(lol(9))},
		{"deep flow nesting", []byte(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000))},
		{"deep block nesting", []byte(strings.Repeat("- ", 20_000) + "x\n")},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, problems := Parse("f.yaml", in.data); len(problems) != 1 {
					b.Fatalf("%d problems, want 1", len(problems))
				}
			}
		})
	}
}
