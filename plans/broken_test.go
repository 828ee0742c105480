package plans

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/golden"
)

// brokenCases lists the broken corpus: every file and directory under testdata/broken except
// the golden files.
func brokenCases(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata/broken")
	if err != nil {
		t.Fatalf("read broken corpus: %v", err)
	}
	var cases []string
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".golden" {
			cases = append(cases, e.Name())
		}
	}
	return cases
}

// TestBrokenCorpus loads each broken plan (a file, or a directory of plans checked together)
// and compares its problems, one FILE:LINE:COL: FIELD: MESSAGE line each, with its golden file.
func TestBrokenCorpus(t *testing.T) {
	cases := brokenCases(t)
	if len(cases) < 30 {
		t.Fatalf("the broken corpus has %d cases, want at least 30", len(cases))
	}
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			set, problems := LoadFS(os.DirFS("testdata/broken"), name)
			g.Expect(problems).NotTo(BeEmpty(), "a broken case must produce problems")

			var lines []string
			for _, p := range problems {
				lines = append(lines, p.String())
			}
			got := strings.Join(lines, "\n") + "\n"
			golden.AssertString(t, filepath.Join("testdata/broken", strings.TrimSuffix(name, filepath.Ext(name))+".golden"), got)

			// Every problem of a plan is also in the plan, and makes it invalid.
			for _, p := range set.Plans {
				g.Expect(p.Valid()).To(Equal(len(p.Problems) == 0))
				for _, pr := range p.Problems {
					g.Expect(problems).To(ContainElement(pr))
				}
			}
		})
	}
}
