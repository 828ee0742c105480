package agent

import (
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metricSeries are the drplan_* series the agent serves, by name, with their label names, read
// without starting an agent: what docs/operations.md, and the alert rules and the dashboard in
// examples/deploy, are checked against. A histogram is named without its _bucket, _sum and
// _count suffixes.
func metricSeries() map[string][]string {
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range newMetrics(&Agent{}).collectors() {
			c.Describe(ch)
		}
		close(ch)
	}()
	series := map[string][]string{}
	for d := range ch {
		// client_golang has no getter for a Desc's name and labels; its String shows both.
		m := descFields.FindStringSubmatch(d.String())
		if m == nil {
			continue
		}
		var labels []string
		for l := range strings.SplitSeq(m[2], ",") {
			if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
				labels = append(labels, l)
			}
		}
		series[m[1]] = labels
	}
	return series
}

var descFields = regexp.MustCompile(`^Desc\{fqName: "([^"]+)", .*variableLabels: \{([^}]*)\}\}$`)
