package plans

import (
	"testing"
	"testing/fstest"

	. "github.com/onsi/gomega"
)

func planWithPaths(apply, traffic string) string {
	s := plan("shop", "pg") + "  waves:\n    - name: default\n      apply:\n        path: " + apply + "\n"
	if traffic != "" {
		s += "  traffic:\n    path: " + traffic + "\n"
	}
	return s
}

func TestManifests(t *testing.T) {
	crd := "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: clusters.postgresql.cnpg.io\nspec:\n  group: postgresql.cnpg.io\n"
	ns := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    site: west\n"
	tests := []struct {
		name    string
		files   fstest.MapFS
		apply   string
		traffic string
		want    []string // kind/name of every manifest of apply, then traffic
		problem string
	}{
		{
			name: "a directory in lexical order, documents in order, and a traffic file",
			files: fstest.MapFS{
				"manifests/db/b.yaml":        {Data: []byte(crd)},
				"manifests/db/a.yaml":        {Data: []byte(ns + "---\n" + "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: pg\n  namespace: shop\n")},
				"manifests/db/notes.txt":     {Data: []byte("not yaml")},
				"manifests/db/.hidden/x.yml": {Data: []byte("kind: [")},
				"traffic.yaml":               {Data: []byte(svc)},
			},
			apply: "../manifests/db", traffic: "../traffic.yaml",
			want: []string{"Namespace shop", "ServiceAccount shop/pg", "CustomResourceDefinition clusters.postgresql.cnpg.io", "Service shop/web"},
		},
		{name: "missing path", files: fstest.MapFS{}, apply: "crds", problem: "plans/shop.yaml:16:15: spec.waves[0].apply.path: cannot read plans/crds: file does not exist"},
		{name: "outside the repository", files: fstest.MapFS{}, apply: "../../etc", problem: "plans/shop.yaml:16:15: spec.waves[0].apply.path: ../etc is outside the plans repository"},
		{name: "empty directory", files: fstest.MapFS{"plans/crds/README.md": {Data: []byte("x")}}, apply: "crds", problem: "plans/shop.yaml:16:15: spec.waves[0].apply.path: plans/crds holds no YAML file"},
		{name: "a document without kind names its file and line", files: fstest.MapFS{"plans/m.yaml": {Data: []byte(ns + "---\napiVersion: v1\nmetadata:\n  name: x\n")}}, apply: "m.yaml",
			problem: "plans/shop.yaml:16:15: spec.waves[0].apply.path: plans/m.yaml:6: kind: required"},
		{name: "a drplan document", files: fstest.MapFS{"plans/m.yaml": {Data: []byte("apiVersion: drplan.io/v1alpha1\nkind: AgentConfig\nmetadata:\n  name: x\n")}}, apply: "m.yaml",
			problem: "plans/shop.yaml:16:15: spec.waves[0].apply.path: plans/m.yaml:1: a AgentConfig is drplan's own document, not an object to apply"},
		{name: "the same object twice", files: fstest.MapFS{"plans/m.yaml": {Data: []byte(ns + "---\n" + ns)}}, apply: "m.yaml",
			problem: "plans/shop.yaml:16:15: spec.waves[0].apply.path: plans/m.yaml:6: Namespace shop is already written at plans/m.yaml:1"},
		{name: "no name", files: fstest.MapFS{"plans/m.yaml": {Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  generateName: x-\n")}}, apply: "m.yaml",
			problem: "plans/shop.yaml:16:15: spec.waves[0].apply.path: plans/m.yaml:1: metadata.name: required (generateName is not applied)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tt.files["plans/shop.yaml"] = &fstest.MapFile{Data: []byte(planWithPaths(tt.apply, tt.traffic))}
			set, problems := LoadFS(tt.files, "plans")
			if tt.problem != "" {
				g.Expect(problemLines(problems)).To(Equal([]string{tt.problem}))
				return
			}
			g.Expect(problems).To(BeEmpty())
			p := set.Plans[0]
			var got []string
			for _, m := range append(p.ManifestsOf(p.Spec.Waves[0].Apply), p.ManifestsOf(p.Spec.Traffic)...) {
				got = append(got, m.Object.GetKind()+" "+objectName(m.Object))
			}
			g.Expect(got).To(Equal(tt.want))
			g.Expect(p.ManifestsOf(p.Spec.Waves[0].Apply)[0].String()).To(Equal("Namespace shop (manifests/db/a.yaml:1)"))
		})
	}
}
