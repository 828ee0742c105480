package plans

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/plans/strictyaml"
)

const planYAML = `apiVersion: drplan.io/v1alpha1
kind: DRPlan
metadata:
  name: NAME
spec:
  primary: east
  secondary: west
  schedule:
    cron: "*/15 * * * *"
  rpo: 30m
  volumes:
    - name: VOLUME
`

func plan(name, volume string) string {
	return strings.NewReplacer("NAME", name, "VOLUME", volume).Replace(planYAML)
}

func problemLines(problems []Problem) []string {
	out := []string{}
	for _, p := range problems {
		out = append(out, p.String())
	}
	return out
}

func TestLoadFSTree(t *testing.T) {
	g := NewWithT(t)
	fsys := fstest.MapFS{
		"plans/a.yaml":               {Data: []byte(plan("alpha", "a-data"))},
		"plans/team/b.yml":           {Data: []byte(plan("bravo", "b-data") + "---\n" + plan("charlie", "c-data"))},
		"plans/team/notes.md":        {Data: []byte("# not YAML, not read\x00")},
		"plans/.github/ci.yaml":      {Data: []byte("on: push\x00")},
		"plans/config.yaml":          {Data: []byte("apiVersion: drplan.io/v1alpha1\nkind: AgentConfig\nclusters: []\n")},
		"plans/kustomization.yaml":   {Data: []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")},
		"plans/broken/d.yaml":        {Data: []byte(plan("delta", "d-data") + "  failover: maybe\n")},
		"elsewhere/not-loaded.yaml":  {Data: []byte(plan("echo", "e-data"))},
		"plans/upper/CASE.YAML":      {Data: []byte(plan("foxtrot", "f-data"))},
		"plans/team/.hidden/x.yaml":  {Data: []byte("\x00")},
		"plans/team/empty-dir/.keep": {Data: nil},
		// A Helm chart: its templates are not YAML until rendered.
		"plans/chart/Chart.yaml":          {Data: []byte("apiVersion: v2\nname: x\n")},
		"plans/chart/templates/svc.yaml":  {Data: []byte("{{- if .Values.x }}\nkind: [\n{{- end }}\n")},
		"plans/chart/templates/plan.yaml": {Data: []byte(plan("golf", "g-data"))},
	}
	set, problems := LoadFS(fsys, "plans")
	g.Expect(problemLines(problems)).To(Equal([]string{
		`plans/broken/d.yaml:13:13: spec.failover: must be true or false, got the string "maybe"`,
	}))
	var names []string
	for _, p := range set.Plans {
		names = append(names, p.Name())
	}
	g.Expect(names).To(Equal([]string{"alpha", "bravo", "charlie", "delta", "foxtrot"}))
	var valid []string
	for _, p := range set.Valid() {
		valid = append(valid, p.Name())
	}
	g.Expect(valid).To(Equal([]string{"alpha", "bravo", "charlie", "foxtrot"}), "one invalid plan leaves the others valid")

	charlie, ok := set.Get("charlie")
	g.Expect(ok).To(BeTrue())
	g.Expect(charlie.File).To(Equal("plans/team/b.yml"))
	g.Expect(charlie.Start).To(Equal(strictyaml.Position{Line: 14, Column: 1}))
	g.Expect(charlie.Position("spec.volumes[0].name")).To(Equal(strictyaml.Position{Line: 25, Column: 13}))
	g.Expect(charlie.Position("spec.volumes[0].standbyName")).To(Equal(strictyaml.Position{Line: 25, Column: 7}), "a defaulted field points at its parent")
	g.Expect(charlie.Spec.Volumes[0].StandbyName).To(Equal("c-data"), "plans are defaulted")

	delta, _ := set.Get("delta")
	g.Expect(delta.Valid()).To(BeFalse())
	_, ok = set.Get("echo")
	g.Expect(ok).To(BeFalse())
}

func TestLoadFSRoots(t *testing.T) {
	fsys := fstest.MapFS{
		"one.yaml":   {Data: []byte(plan("alpha", "a-data"))},
		"plain.txt":  {Data: []byte(plan("bravo", "b-data"))},
		"empty.yaml": {Data: nil},
	}
	tests := []struct {
		root     string
		plans    int
		problems []string
	}{
		{root: ".", plans: 1, problems: []string{"empty.yaml:1:1: .: file is empty: no YAML document in it"}},
		{root: "one.yaml", plans: 1, problems: []string{}},
		{root: "plain.txt", plans: 1, problems: []string{}}, // a file named explicitly is read whatever its extension
		{root: "missing", problems: []string{"missing:1:1: .: cannot read: file does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			g := NewWithT(t)
			set, problems := LoadFS(fsys, tt.root)
			g.Expect(set.Plans).To(HaveLen(tt.plans))
			g.Expect(problemLines(problems)).To(Equal(tt.problems))
		})
	}
}

func TestLoadFSKnownClusters(t *testing.T) {
	g := NewWithT(t)
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(plan("alpha", "a-data"))}}
	_, problems := LoadFS(fsys, ".", WithClusters("east", "wets"))
	g.Expect(problemLines(problems)).To(Equal([]string{
		`a.yaml:7:14: spec.secondary: cluster "west" is not in the agent config; did you mean "wets"?`,
	}))
	_, problems = LoadFS(fsys, ".", WithClusters("east", "west"))
	g.Expect(problems).To(BeEmpty())
}

func TestLoadFSConflictsAcrossFiles(t *testing.T) {
	g := NewWithT(t)
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte(plan("alpha", "shared"))},
		"b.yaml": {Data: []byte(plan("bravo", "shared"))},
		"c.yaml": {Data: []byte(plan("charlie", "own"))},
	}
	set, problems := LoadFS(fsys, ".")
	g.Expect(problemLines(problems)).To(Equal([]string{
		`a.yaml:12:7: spec.volumes[0].standbyName: volume "shared" in cluster west is also claimed by plan "bravo" (b.yaml:12:7)`,
		`a.yaml:12:13: spec.volumes[0].name: volume "shared" in cluster east is also claimed by plan "bravo" (b.yaml:12:13)`,
		`b.yaml:12:7: spec.volumes[0].standbyName: volume "shared" in cluster west is also claimed by plan "alpha" (a.yaml:12:7)`,
		`b.yaml:12:13: spec.volumes[0].name: volume "shared" in cluster east is also claimed by plan "alpha" (a.yaml:12:13)`,
	}))
	var valid []string
	for _, p := range set.Valid() {
		valid = append(valid, p.Name())
	}
	g.Expect(valid).To(Equal([]string{"charlie"}))
}

func TestLoadPaths(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	g.Expect(os.MkdirAll(filepath.Join(dir, "repo", "sub"), 0o755)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(dir, "repo", "sub", "a.yaml"), []byte(plan("alpha", "shared")), 0o644)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(dir, "single.yaml"), []byte(plan("bravo", "shared")), 0o644)).To(Succeed())
	t.Chdir(dir)

	set, problems := LoadPaths([]string{"repo/", "./single.yaml", "nowhere"})
	g.Expect(set.Plans).To(HaveLen(2))
	g.Expect(problemLines(problems)).To(Equal([]string{
		`nowhere:1:1: .: cannot read: no such file or directory`,
		`repo/sub/a.yaml:12:7: spec.volumes[0].standbyName: volume "shared" in cluster west is also claimed by plan "bravo" (single.yaml:12:7)`,
		`repo/sub/a.yaml:12:13: spec.volumes[0].name: volume "shared" in cluster east is also claimed by plan "bravo" (single.yaml:12:13)`,
		`single.yaml:12:7: spec.volumes[0].standbyName: volume "shared" in cluster west is also claimed by plan "alpha" (repo/sub/a.yaml:12:7)`,
		`single.yaml:12:13: spec.volumes[0].name: volume "shared" in cluster east is also claimed by plan "alpha" (repo/sub/a.yaml:12:13)`,
	}), "paths on disk are checked together and named as given")
}

// TestExamplesAreValid keeps the plans repository in examples/ valid, with the cluster names
// the e2e tests and the sandbox use.
func TestExamplesAreValid(t *testing.T) {
	g := NewWithT(t)
	set, problems := LoadPaths([]string{"../examples"}, WithClusters("east", "west"))
	g.Expect(problemLines(problems)).To(BeEmpty())
	var names []string
	for _, p := range set.Plans {
		names = append(names, p.Name())
		g.Expect(p.Spec.Primary).To(Equal("east"))
		g.Expect(p.Spec.Secondary).To(Equal("west"))
	}
	g.Expect(names).To(ConsistOf("orders-db", "shop", "ledger", "events"))

	shop, _ := set.Get("shop")
	var waves []string
	for _, w := range shop.Spec.Waves {
		waves = append(waves, w.Name)
		g.Expect(w.Gates).NotTo(BeEmpty(), "every wave of the three-wave example has a gate")
		g.Expect(w.Scale).NotTo(BeEmpty(), "every wave of the three-wave example scales a workload")
	}
	g.Expect(waves).To(Equal([]string{"databases", "queues", "apps"}))
}

// TestDefaultedPlansRoundTrip renders every valid plan with its defaults (what drplan validate
// --show-defaults prints) and loads it again: the result is the same plan, without problems.
func TestDefaultedPlansRoundTrip(t *testing.T) {
	g := NewWithT(t)
	set, problems := LoadPaths([]string{"../examples"})
	g.Expect(problems).To(BeEmpty())
	for _, p := range set.Plans {
		out, err := strictyaml.MarshalCommented(&p.DRPlan, func(path string) string {
			if p.Written(path) {
				return ""
			}
			return "default"
		})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(out)).To(ContainSubstring(" # default\n"))
		// In place of the plan's file, beside the manifests its paths name.
		fsys := examplesFS(t)
		name := strings.TrimPrefix(p.File, "../examples/")
		fsys[name] = &fstest.MapFile{Data: out}
		again, problems := LoadFS(fsys, name)
		g.Expect(problems).To(BeEmpty(), string(out))
		g.Expect(again.Plans).To(HaveLen(1))
		g.Expect(again.Plans[0].DRPlan).To(Equal(p.DRPlan))
	}
}

// examplesFS is every file under ../examples, by its path there.
func examplesFS(t *testing.T) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := filepath.WalkDir("../examples", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel("../examples", path)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
