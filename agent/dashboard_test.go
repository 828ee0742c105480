package agent

import (
	"encoding/json"
	"os"
	"testing"

	. "github.com/onsi/gomega"
)

// dashboard is deploy/dashboard.json, as far as the test reads it.
type dashboard struct {
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// The Grafana dashboard parses, takes its Prometheus from the datasource variable and its plans
// from the plan variable, and queries only series and labels the agent serves.
func TestDashboard(t *testing.T) {
	g := NewWithT(t)
	b, err := os.ReadFile("../examples/deploy/dashboard.json")
	g.Expect(err).NotTo(HaveOccurred())
	var d dashboard
	g.Expect(json.Unmarshal(b, &d)).To(Succeed())
	g.Expect(d.UID).To(Equal("drplan"))
	g.Expect(d.SchemaVersion).To(BeNumerically(">=", 39))

	prometheus := &datasource{Type: "prometheus", UID: "${datasource}"}
	served := newServedSeries()
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type != "query" {
			continue
		}
		g.Expect(v.Datasource).To(Equal(prometheus), "variable %s", v.Name)
		var q struct {
			Query string `json:"query"`
		}
		g.Expect(json.Unmarshal(v.Query, &q)).To(Succeed(), "variable %s", v.Name)
		for _, query := range []string{q.Query, v.Definition} {
			g.Expect(served.checkQuery(query)).To(BeEmpty(), "variable %s: %s", v.Name, query)
		}
	}
	g.Expect(vars).To(Equal(map[string]string{"datasource": "datasource", "plan": "query"}))

	ids := map[int]bool{}
	var check func(ps []panel)
	check = func(ps []panel) {
		for _, p := range ps {
			g.Expect(ids).NotTo(HaveKey(p.ID), "two panels with id %d", p.ID)
			ids[p.ID] = true
			check(p.Panels)
			if p.Type == "row" {
				continue
			}
			g.Expect(p.Datasource).To(Equal(prometheus), "panel %q", p.Title)
			g.Expect(p.Targets).NotTo(BeEmpty(), "panel %q", p.Title)
			for _, tg := range p.Targets {
				g.Expect(tg.Datasource).To(Equal(prometheus), "panel %q", p.Title)
				g.Expect(served.checkQuery(tg.Expr)).To(BeEmpty(), "panel %q: %s", p.Title, tg.Expr)
			}
		}
	}
	check(d.Panels)
}
