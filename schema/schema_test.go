package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// TestGeneratedFilesInSync regenerates the schemas and the docs reference in memory and
// compares them with the checked-in files: run go generate ./schema after changing a type.
func TestGeneratedFilesInSync(t *testing.T) {
	g := NewWithT(t)
	files, err := Files()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).To(HaveKey("schema/drplan.schema.json"))
	g.Expect(files).To(HaveKey("schema/agentconfig.schema.json"))
	g.Expect(files).To(HaveKey("docs/plans.md"))
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(name)))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(got)).To(Equal(string(want)), "%s is out of date: run go generate ./schema", name)
	}
}

func compile(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(file, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(file)
	if err != nil {
		t.Fatalf("compile %s: %v", file, err)
	}
	return s
}

// documents reads every document of a YAML file as JSON data, the way an editor hands it to a
// JSON Schema. An error means the YAML itself cannot be read as data.
func documents(data []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		out = append(out, inst)
	}
}

func TestSchemasAcceptTheExamples(t *testing.T) {
	plan := compile(t, "drplan.schema.json")
	agent := compile(t, "agentconfig.schema.json")
	files, err := filepath.Glob("../examples/plans/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example plans: %v", err)
	}
	more, err := filepath.Glob("../examples/app-consistent/*.yaml")
	if err != nil || len(more) == 0 {
		t.Fatalf("no application-consistent example plans: %v", err)
	}
	files = append(files, more...)
	for _, f := range append(files, "../examples/agent.yaml") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			g := NewWithT(t)
			data, err := os.ReadFile(f)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(data)).To(HavePrefix("# yaml-language-server: $schema="), "editors find the schema from the first line")
			schemaRef := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(data), "\n", 2)[0], "# yaml-language-server: $schema="))
			_, err = os.Stat(filepath.Join(filepath.Dir(f), schemaRef))
			g.Expect(err).NotTo(HaveOccurred(), "the schema comment points at the schema, relative to the file")
			docs, err := documents(data)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(docs).NotTo(BeEmpty())
			s := plan
			if filepath.Base(f) == "agent.yaml" {
				s = agent
			}
			for _, d := range docs {
				g.Expect(s.Validate(d)).To(Succeed())
			}
		})
	}
}

// schemaBlind lists the broken plans a JSON Schema cannot reject, and why. Every other case of
// the corpus must be rejected, by the schema or by the YAML reader in front of it.
var schemaBlind = map[string]string{
	"empty.yaml":                 "no document: nothing to validate",
	"only-comments.yaml":         "no document: nothing to validate",
	"merge-key.yaml":             "YAML readers apply the merge key before the schema sees the result",
	"cron-four-fields.yaml":      "cron syntax",
	"cron-with-seconds.yaml":     "cron syntax",
	"cron-never-fires.yaml":      "cron semantics",
	"rpo-below-interval.yaml":    "compares the RPO with the cron schedule",
	"rpo-equals-interval.yaml":   "compares the RPO with the cron schedule",
	"rpo-weekend-gap.yaml":       "compares the RPO with the cron schedule",
	"same-cluster.yaml":          "compares two fields",
	"unknown-wave.yaml":          "refers from one field to another",
	"duplicate-wave.yaml":        "uniqueness of a field inside list items",
	"duplicate-volume.yaml":      "uniqueness of a field inside list items",
	"conflicting-source-volume":  "spans several plans",
	"conflicting-standby-volume": "spans several plans",
	"duplicate-plan-name":        "spans several plans",
}

func TestSchemaRejectsTheBrokenCorpus(t *testing.T) {
	plan := compile(t, "drplan.schema.json")
	entries, err := os.ReadDir("../plans/testdata/broken")
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".golden" {
			continue
		}
		cases++
		t.Run(e.Name(), func(t *testing.T) {
			g := NewWithT(t)
			rejected, why := false, ""
			err := filepath.WalkDir(filepath.Join("../plans/testdata/broken", e.Name()), func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				docs, err := documents(data)
				if err != nil {
					rejected, why = true, "YAML: "+err.Error()
					return nil //nolint:nilerr // a YAML error is a rejection, recorded above
				}
				for _, doc := range docs {
					if m, ok := doc.(map[string]any); ok {
						if v, _ := m["apiVersion"].(string); v != "" && !strings.HasPrefix(v, "drplan.io/") {
							continue // another kind, as in multi-document.yaml
						}
					}
					if err := plan.Validate(doc); err != nil {
						rejected, why = true, err.Error()
					}
				}
				return nil
			})
			g.Expect(err).NotTo(HaveOccurred())
			if reason, blind := schemaBlind[e.Name()]; blind {
				g.Expect(rejected).To(BeFalse(), "listed as beyond a schema (%s), but rejected: %s", reason, why)
				return
			}
			g.Expect(rejected).To(BeTrue(), "the schema accepts this broken plan")
			t.Logf("rejected: %s", strings.SplitN(why, "\n", 3)[min(1, strings.Count(why, "\n"))])
		})
	}
	g := NewWithT(t)
	g.Expect(cases).To(BeNumerically(">=", 30))
	var blind []string
	for name := range schemaBlind {
		_, err := os.Stat(filepath.Join("../plans/testdata/broken", name))
		g.Expect(err).NotTo(HaveOccurred(), "schemaBlind lists %s, which is not in the corpus", name)
		blind = append(blind, name)
	}
	sort.Strings(blind)
	t.Logf("the schema rejects %d of %d broken cases; beyond it: %s", cases-len(blind), cases, strings.Join(blind, ", "))
}
