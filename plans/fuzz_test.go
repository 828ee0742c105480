package plans

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/plans/strictyaml"
)

// FuzzLoad feeds arbitrary bytes to the loader as one plan file. Seeds: every file of the broken
// corpus and of the examples, plus testdata/fuzz/FuzzLoad; they run in every go test.
// Run the fuzzer with: go test ./plans -run '^$' -fuzz FuzzLoad -fuzztime 1m
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"testdata/broken", "../examples/plans"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(path) == ".golden" {
				return err
			}
			data, err := os.ReadFile(path)
			if err == nil {
				f.Add(data)
			}
			return err
		})
		if err != nil {
			f.Fatalf("read seeds: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := NewWithT(t)
		fsys := fstest.MapFS{"plan.yaml": {Data: data}}
		set, problems := LoadFS(fsys, ".")
		for _, p := range problems {
			g.Expect(p.File).To(Equal("plan.yaml"))
			g.Expect(p.Line).To(BeNumerically(">=", 1), p.String())
			g.Expect(p.Column).To(BeNumerically(">=", 1), p.String())
			g.Expect(p.Field).NotTo(BeEmpty(), p.String())
			g.Expect(p.Message).NotTo(BeEmpty(), p.String())
			g.Expect(strings.ContainsAny(p.String(), "\n\r")).To(BeFalse(), "one problem, one line: %q", p.String())
		}
		again, problemsAgain := LoadFS(fsys, ".")
		g.Expect(problemsAgain).To(Equal(problems), "loading is deterministic")
		g.Expect(again.Plans).To(HaveLen(len(set.Plans)))

		// A valid plan, printed with its defaults, loads again into the same plan.
		for _, p := range set.Valid() {
			out, err := strictyaml.Marshal(&p.DRPlan)
			g.Expect(err).NotTo(HaveOccurred())
			back, problems := LoadFS(fstest.MapFS{"p.yaml": {Data: out}}, ".")
			g.Expect(problems).To(BeEmpty(), string(out))
			g.Expect(back.Plans).To(HaveLen(1))
			g.Expect(back.Plans[0].DRPlan).To(Equal(p.DRPlan))
		}
	})
}
