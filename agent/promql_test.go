package agent

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// targetLabels are the labels Prometheus adds to every series it scrapes from the agent (a
// ServiceMonitor's job, namespace, instance and pod): queries may name them beside the agent's.
var targetLabels = []string{"job", "namespace", "instance", "pod"}

var (
	selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"`)
	stringRE   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	metricRE   = regexp.MustCompile(`\bdrplan_[a-z_]+\b`)
	groupingRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	labelValRE = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)`)
)

// servedSeries are the agent's drplan_* series and their labels.
type servedSeries map[string][]string

func newServedSeries() servedSeries { return servedSeries(metricSeries()) }

// labels returns the labels of a series name as Prometheus stores it (a histogram's _bucket,
// _sum and _count included), and whether the agent serves it.
func (s servedSeries) labels(name string) ([]string, bool) {
	if l, ok := s[name]; ok {
		return l, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if l, ok := s[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) {
			if suffix == "_bucket" {
				l = append(slices.Clone(l), "le")
			}
			return l, true
		}
	}
	return nil, false
}

// checkQuery returns what a PromQL query (or a Grafana label_values query) names that the agent
// does not serve: a metric, a label of a selector's metric, or a label in a by, without, on or
// ignoring clause that none of the query's metrics has. A regular-expression reading of
// PromQL, enough for the queries drplan ships: every metric must be a drplan_* one.
func (s servedSeries) checkQuery(query string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, m := range selectorRE.FindAllStringSubmatch(query, -1) {
		if m[1] == "" {
			add("selector %s names no metric", m[0])
			continue
		}
		labels, ok := s.labels(m[1])
		if !ok {
			continue // reported below
		}
		for _, mm := range matcherRE.FindAllStringSubmatch(m[2], -1) {
			if !slices.Contains(labels, mm[1]) && !slices.Contains(targetLabels, mm[1]) {
				add("%s has no label %s", m[1], mm[1])
			}
		}
	}
	bare := stringRE.ReplaceAllString(query, `""`)
	names := metricRE.FindAllString(bare, -1)
	if len(names) == 0 {
		add("query names no drplan_* series")
	}
	for _, name := range names {
		if _, ok := s.labels(name); !ok {
			add("the agent serves no series %s", name)
		}
	}
	known := s.queryLabels(query)
	for _, m := range groupingRE.FindAllStringSubmatch(bare, -1) {
		for l := range strings.SplitSeq(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(known, l) {
				add("label %s in %q is no label of the query's series", l, strings.TrimSpace(m[0]))
			}
		}
	}
	for _, m := range labelValRE.FindAllStringSubmatch(bare, -1) {
		if labels, ok := s.labels(m[1]); ok && !slices.Contains(labels, m[2]) {
			add("%s has no label %s", m[1], m[2])
		}
	}
	return problems
}

// queryLabels are the labels the series a query names may have: theirs and the target labels.
func (s servedSeries) queryLabels(query string) []string {
	known := slices.Clone(targetLabels)
	for _, name := range metricRE.FindAllString(stringRE.ReplaceAllString(query, `""`), -1) {
		labels, _ := s.labels(name)
		known = append(known, labels...)
	}
	return known
}

// checkInputSeries returns what a promtool input series, `name{label="value", ...}`, gets wrong:
// a series the agent does not serve, or not the labels the agent gives it (plus target labels).
func (s servedSeries) checkInputSeries(series string) []string {
	m := selectorRE.FindStringSubmatch(series)
	if m == nil || strings.TrimSpace(series) != m[0] {
		return []string{fmt.Sprintf("input series %q is not name{labels}", series)}
	}
	want, ok := s.labels(m[1])
	if !ok {
		return []string{fmt.Sprintf("the agent serves no series %s", m[1])}
	}
	var got []string
	for _, mm := range matcherRE.FindAllStringSubmatch(m[2], -1) {
		if !slices.Contains(targetLabels, mm[1]) {
			got = append(got, mm[1])
		}
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		return []string{fmt.Sprintf("input series %s has labels %v besides the target labels; the agent serves %v", m[1], got, want)}
	}
	return nil
}
