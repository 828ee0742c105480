package agent

import (
	"os"
	"regexp"
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
)

// Every drplan_* series the agent serves is in docs/operations.md, with its labels, and the
// page names no series the agent does not serve.
func TestMetricsDocumented(t *testing.T) {
	g := NewWithT(t)
	doc, err := os.ReadFile("../docs/operations.md")
	g.Expect(err).NotTo(HaveOccurred())

	// A row of the metrics table: | `name` | type | `label`, `label` | help |
	row := regexp.MustCompile("(?m)^\\| `(drplan_[a-z_]+)` \\| [a-z]+ \\| ([^|]*)\\|")
	documented := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = regexp.MustCompile("`([a-z_]+)`").FindAllString(m[2], -1)
	}

	served := map[string][]string{}
	descName := regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels := regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	ch := make(chan *prometheus.Desc, 100)
	for _, c := range newMetrics(&Agent{}).collectors() {
		c.Describe(ch)
	}
	close(ch)
	for d := range ch {
		name := descName.FindStringSubmatch(d.String())[1]
		var labels []string
		if m := descLabels.FindStringSubmatch(d.String()); m != nil && m[1] != "" {
			for _, l := range regexp.MustCompile(`[a-z_]+`).FindAllString(m[1], -1) {
				labels = append(labels, "`"+l+"`")
			}
		}
		served[name] = labels
	}
	g.Expect(served).NotTo(BeEmpty())
	for name, labels := range served {
		g.Expect(documented).To(HaveKey(name), "docs/operations.md lacks %s", name)
		slices.Sort(labels)
		got := slices.Sorted(slices.Values(documented[name]))
		g.Expect(got).To(Equal(labels), "labels of %s", name)
	}
	for name := range documented {
		g.Expect(served).To(HaveKey(name), "docs/operations.md names %s, which the agent does not serve", name)
	}
}
