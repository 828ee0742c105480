package strictyaml

import (
	"regexp"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestProblemString(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Problem{File: "p/a.yaml", Line: 3, Column: 7, Field: "spec.rpo", Message: "bad"}.String()).
		To(Equal("p/a.yaml:3:7: spec.rpo: bad"))
	g.Expect(Problem{File: "a.yaml", Line: 1, Column: 1, Message: "empty"}.String()).
		To(Equal("a.yaml:1:1: .: empty"))
}

func TestSorted(t *testing.T) {
	g := NewWithT(t)
	a := Problem{File: "a", Line: 2, Column: 1, Field: "x", Message: "m"}
	b := Problem{File: "a", Line: 10, Column: 1, Field: "x", Message: "m"}
	c := Problem{File: "b", Line: 1, Column: 1, Field: "x", Message: "m"}
	g.Expect(Sorted([]Problem{c, b, a, b})).To(Equal([]Problem{a, b, c}))
}

func TestSuggest(t *testing.T) {
	candidates := []string{"volumes", "volumeMode", "waves", "primary", "secondary", "standbyName", "rpo"}
	tests := []struct{ word, want string }{
		{"volums", "volumes"},
		{"volmues", "volumes"}, // a swap counts once
		{"standbyname", "standbyName"},
		{"primry", "primary"},
		{"rp", "rpo"},
		{"wave", "waves"},
		{"secundary", "secondary"},
		{"x", ""},
		{"replicas", ""},
		{"", ""},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(Suggest(tt.word, candidates)).To(Equal(tt.want), tt.word)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		text    string
		want    time.Duration
		printed string
		err     string
	}{
		{text: "30m", want: 30 * time.Minute, printed: "30m"},
		{text: "1h", want: time.Hour, printed: "1h"},
		{text: "1h30m", want: 90 * time.Minute, printed: "1h30m"},
		{text: "90s", want: 90 * time.Second, printed: "1m30s"},
		{text: "1h0m30s", want: time.Hour + 30*time.Second, printed: "1h0m30s"},
		{text: "0", want: 0, printed: "0s"},
		{text: "-5m", want: -5 * time.Minute, printed: "-5m"},
		{text: "1.5h", want: 90 * time.Minute, printed: "1h30m"},
		{text: "10", err: `invalid duration "10": write a number and a unit, such as 90s, 30m or 1h30m`},
		{text: "1 hour", err: `invalid duration "1 hour": write a number and a unit, such as 90s, 30m or 1h30m`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			g := NewWithT(t)
			var d Duration
			err := d.UnmarshalText([]byte(tt.text))
			if tt.err != "" {
				g.Expect(err).To(MatchError(tt.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(d.Duration).To(Equal(tt.want))
			g.Expect(d.String()).To(Equal(tt.printed))
			text, err := d.MarshalText()
			g.Expect(err).NotTo(HaveOccurred())
			var back Duration
			g.Expect(back.UnmarshalText(text)).To(Succeed())
			g.Expect(back).To(Equal(d))
		})
	}
}

func TestDurationPatternMatchesParseDuration(t *testing.T) {
	g := NewWithT(t)
	re := regexp.MustCompile(DurationPattern)
	for _, s := range []string{"30m", "1h30m", "1.5h", "500ms", "2µs", "3us", "0", "-1h", "+2m", ".5s"} {
		var d Duration
		g.Expect(d.UnmarshalText([]byte(s))).To(Succeed(), s)
		g.Expect(re.MatchString(s)).To(BeTrue(), s)
	}
	for _, s := range []string{"30", "1 h", "h", "1d", "", "30m "} {
		var d Duration
		g.Expect(d.UnmarshalText([]byte(s))).NotTo(Succeed(), s)
		g.Expect(re.MatchString(s)).To(BeFalse(), s)
	}
}

func TestPositiveDurationPattern(t *testing.T) {
	g := NewWithT(t)
	re := regexp.MustCompile(PositiveDurationPattern)
	for _, s := range []string{"30m", "1h30m", "1.5h", "500ms", "2µs", "3us", "+2m", ".5s", "0.5s", "0h1m", "1.s", "10m0s", "00001s"} {
		var d Duration
		g.Expect(d.UnmarshalText([]byte(s))).To(Succeed(), s)
		g.Expect(d.Duration).To(BeNumerically(">", 0), s)
		g.Expect(re.MatchString(s)).To(BeTrue(), s)
	}
	for _, s := range []string{"0", "0s", "0m0s", "0.0s", ".0h", "-1h", "-0s", "+0m", "30", "1d", "", "30m "} {
		g.Expect(re.MatchString(s)).To(BeFalse(), s)
	}
}

func TestMarshalKeepsFieldOrderAndTypes(t *testing.T) {
	g := NewWithT(t)
	type doc struct {
		Zeta  string   `json:"zeta"`
		Alpha string   `json:"alpha"`
		Num   string   `json:"num"`
		Cron  string   `json:"cron"`
		Bool  string   `json:"bool"`
		N     int      `json:"n"`
		D     Duration `json:"d"`
		List  []string `json:"list"`
	}
	out, err := Marshal(doc{Zeta: "z", Alpha: "a", Num: "10", Cron: "*/5 * * * *", Bool: "true", N: 3,
		D: Duration{time.Hour}, List: []string{"x"}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(Equal(`zeta: z
alpha: a
num: "10"
cron: '*/5 * * * *'
bool: "true"
n: 3
d: 1h
list:
  - x
`))
}

func TestMarshalCommented(t *testing.T) {
	g := NewWithT(t)
	type item struct {
		ID   string   `json:"id"`
		Tags []string `json:"tags"`
	}
	type doc struct {
		Name  string         `json:"name"`
		Empty string         `json:"empty"`
		Items []item         `json:"items"`
		Child map[string]int `json:"child"`
		None  []string       `json:"none"`
	}
	marked := map[string]bool{"empty": true, "items": true, "items[0].id": true, "items[0].tags[1]": true, "child": true, "child.n": true, "none": true}
	out, err := MarshalCommented(doc{Name: "x", Items: []item{{ID: "a", Tags: []string{"t", "u"}}}, Child: map[string]int{"n": 1}, None: []string{}},
		func(path string) string {
			if marked[path] {
				return "default"
			}
			return ""
		})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(Equal(`name: x
empty: ""
items: # default
  - id: a # default
    tags:
      - t
      - u # default
child: # default
  n: 1 # default
none: []
`))
	plain, err := MarshalCommented(doc{Name: "x"}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(plain)).NotTo(ContainSubstring("#"))
}
