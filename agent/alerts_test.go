package agent

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/drplan/drplan/internal/testenv"
)

// prometheusRule is deploy/alerts.yaml, as far as the tests read it.
type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec json.RawMessage `json:"spec"`
}

// ruleFile is a Prometheus rule file: a PrometheusRule's spec.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// ruleTests is a promtool `test rules` file, as far as the tests read it.
type ruleTests struct {
	RuleFiles          []string `json:"rule_files"`
	EvaluationInterval string   `json:"evaluation_interval"`
	Tests              []struct {
		Name        string `json:"name"`
		Interval    string `json:"interval"`
		InputSeries []struct {
			Series string `json:"series"`
			Values string `json:"values"`
		} `json:"input_series"`
		AlertRuleTest []struct {
			EvalTime  string `json:"eval_time"`
			Alertname string `json:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `json:"exp_labels"`
				ExpAnnotations map[string]string `json:"exp_annotations"`
			} `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// rulesFileName is the rule file the promtool tests name: deploy/alerts.yaml's spec.
const rulesFileName = "alerts.rules.yaml"

const runbookPrefix = "https://github.com/drplan/drplan/blob/main/docs/operations.md#"

func readAlerts(t *testing.T) (prometheusRule, ruleFile, ruleTests) {
	t.Helper()
	g := NewWithT(t)
	var pr prometheusRule
	b, err := os.ReadFile("../examples/deploy/alerts.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(yaml.UnmarshalStrict(b, &pr)).To(Succeed())
	var rules ruleFile
	g.Expect(yaml.UnmarshalStrict(pr.Spec, &rules)).To(Succeed(), "spec of deploy/alerts.yaml")
	var tests ruleTests
	b, err = os.ReadFile("../examples/deploy/alerts_test.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(yaml.UnmarshalStrict(b, &tests)).To(Succeed(), "examples/deploy/alerts_test.yaml")
	return pr, rules, tests
}

// The PrometheusRule is the one the install renders, every alert says how bad it is and where
// its runbook is, every alert has a promtool case that fires and one that does not, and the
// rules and the tests' input series name only series and labels the agent serves.
func TestAlertRules(t *testing.T) {
	g := NewWithT(t)
	pr, rules, tests := readAlerts(t)
	g.Expect(pr.APIVersion).To(Equal("monitoring.coreos.com/v1"))
	g.Expect(pr.Kind).To(Equal("PrometheusRule"))
	g.Expect(pr.Metadata.Name).To(Equal("drplan"))
	g.Expect(pr.Metadata.Namespace).To(Equal("drplan-system"))
	g.Expect(pr.Metadata.Labels).To(Equal(map[string]string{"app.kubernetes.io/name": "drplan", "app.kubernetes.io/part-of": "drplan"}))
	g.Expect(tests.RuleFiles).To(Equal([]string{rulesFileName}))

	doc, err := os.ReadFile("../docs/operations.md")
	g.Expect(err).NotTo(HaveOccurred())
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		anchors[githubAnchor(m[1])] = true
	}

	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}

	served := newServedSeries()
	alerts := map[string]bool{}
	templateLabel := regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
	for _, group := range rules.Groups {
		for _, r := range group.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				g := NewWithT(t)
				g.Expect(r.Alert).To(MatchRegexp(`^Drplan[A-Z][A-Za-z]+$`))
				g.Expect(alerts).NotTo(HaveKey(r.Alert), "two alerts named %s", r.Alert)
				alerts[r.Alert] = true
				g.Expect(r.Labels).To(HaveKeyWithValue("severity", BeElementOf("critical", "warning")))
				g.Expect(r.Annotations).To(HaveKey("summary"))
				g.Expect(r.Annotations).To(HaveKey("description"))
				g.Expect(r.Annotations).To(HaveKeyWithValue("runbook_url", HavePrefix(runbookPrefix)))
				anchor := strings.TrimPrefix(r.Annotations["runbook_url"], runbookPrefix)
				g.Expect(anchors[anchor]).To(BeTrue(), "docs/operations.md has no heading for the runbook_url #%s", anchor)
				g.Expect(served.checkQuery(r.Expr)).To(BeEmpty(), "expr of %s", r.Alert)
				// A label an annotation shows is one the expression's series have.
				for _, text := range r.Annotations {
					for _, m := range templateLabel.FindAllStringSubmatch(text, -1) {
						g.Expect(served.queryLabels(r.Expr)).To(ContainElement(m[1]), "annotation of %s shows $labels.%s", r.Alert, m[1])
					}
				}
				g.Expect(firing).To(HaveKey(r.Alert), "examples/deploy/alerts_test.yaml has no case where %s fires", r.Alert)
				g.Expect(quiet).To(HaveKey(r.Alert), "examples/deploy/alerts_test.yaml has no case where %s stays quiet", r.Alert)
			})
		}
	}
	for name := range firing {
		g.Expect(alerts).To(HaveKey(name), "examples/deploy/alerts_test.yaml tests %s, which deploy/alerts.yaml lacks", name)
	}
	for _, tc := range tests.Tests {
		for _, in := range tc.InputSeries {
			g.Expect(served.checkInputSeries(in.Series)).To(BeEmpty(), "test %q", tc.Name)
		}
	}
}

// promtool runs deploy/alerts_test.yaml against deploy/alerts.yaml's rules, written as the plain
// rule file promtool reads.
func TestAlertRulesPromtool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs promtool; skipped under -short")
	}
	promtool, err := testenv.Promtool()
	if err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	pr, _, _ := readAlerts(t)
	dir := t.TempDir()
	g.Expect(os.WriteFile(filepath.Join(dir, rulesFileName), pr.Spec, 0o600)).To(Succeed())
	tests, err := os.ReadFile("../examples/deploy/alerts_test.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), tests, 0o600)).To(Succeed())

	for _, args := range [][]string{{"check", "rules", rulesFileName}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.CommandContext(t.Context(), promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}
