package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/planner"
)

func preview(rev string, lag time.Duration) string {
	return Preview(PreviewInput{Revision: rev, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: []planner.PlanReport{payments(lag)}}})
}

func TestWithHistory(t *testing.T) {
	t.Parallel()
	revs := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%040d", i))
		}
		return out
	}
	cases := []struct {
		name string
		// contents are composed in turn, each on the previous body.
		contents []string
		// entries are the history entries' revisions after the last, newest first.
		entries []string
	}{
		{"a new comment has no history", []string{preview(sha1, time.Minute)}, nil},
		{"a new head folds the previous preview", []string{preview(sha1, time.Minute), preview(sha2, time.Minute)}, []string{sha1}},
		{"the same head again replaces in place", []string{preview(sha1, time.Minute), preview(sha1, 9*time.Minute)}, nil},
		{"applied after the preview of the same commit is another kind",
			[]string{preview(sha1, time.Minute), Applied(AppliedInput{Revision: sha1, Report: planner.Report{Now: now}})}, []string{sha1}},
		{"history is bounded, newest first", func() []string {
			var out []string
			for _, r := range revs(MaxHistory + 3) {
				out = append(out, preview(r, time.Minute))
			}
			return out
		}(), func() []string {
			r := revs(MaxHistory + 3)
			var out []string
			for i := len(r) - 2; i >= len(r)-1-MaxHistory; i-- {
				out = append(out, r[i])
			}
			return out
		}()},
	}
	entryRev := regexp.MustCompile(`^<!-- drplan:entry kind=\w+ revision=(\w+) -->`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			body := ""
			for _, c := range tc.contents {
				body = Compose(Marker, body, c, 0)
			}
			last := tc.contents[len(tc.contents)-1]
			g.Expect(body).To(HavePrefix(Marker + "\n" + last))
			content, entries := parse(body)
			g.Expect(content).To(Equal(last))
			var got []string
			for _, e := range entries {
				m := entryRev.FindStringSubmatch(e)
				g.Expect(m).NotTo(BeNil(), e)
				got = append(got, m[1])
				g.Expect(strings.Count(e, "<details>")).To(Equal(strings.Count(e, "</details>")))
			}
			g.Expect(got).To(Equal(tc.entries))
			g.Expect(strings.Count(body, "<details>")).To(Equal(strings.Count(body, "</details>")))

			// Composing the same content again gives the same body: nothing to write.
			g.Expect(Compose(Marker, body, last, 0)).To(Equal(body))
			// A body edited on the forge with CRLF line ends still parses.
			crlf := strings.ReplaceAll(body, "\n", "\r\n")
			c2, e2 := parse(crlf)
			g.Expect(c2).To(Equal(content))
			g.Expect(e2).To(HaveLen(len(entries)))
		})
	}
}

// A body that is not drplan's (a person's comment, an older format) starts a fresh one.
func TestWithHistoryForeignBody(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	c := preview(sha1, time.Minute)
	for _, prev := range []string{"", "LGTM", Marker + "\nsomething from an older drplan", "<!-- drplan:meta kind=preview -->"} {
		g.Expect(Compose(Marker, prev, c, 0)).To(Equal(Marker+"\n"+c), prev)
	}
}

func TestCut(t *testing.T) {
	t.Parallel()
	// A large body: many plans with many changes, and a full history.
	var plans []planner.PlanReport
	var actions []planner.Action
	for i := range 40 {
		p := payments(time.Duration(i) * time.Minute)
		p.Name = fmt.Sprintf("plan-%02d", i)
		plans = append(plans, p)
		actions = append(actions, recurringJob(p.Name), label(p.Name, "pg-data"), label(p.Name, "pg-wal"))
	}
	big := func(rev string) string {
		return Preview(PreviewInput{Revision: rev, Report: planner.Report{Now: now, Clusters: bothUp(), Plans: plans}, Actions: actions})
	}
	body := ""
	for i := range 4 {
		body = Compose(Marker, body, big(fmt.Sprintf("%040d", i)), 0)
	}
	whole := utf8.RuneCountInString(body)
	content, entries := parse(body)
	g := NewWithT(t)
	g.Expect(entries).To(HaveLen(3))
	headLines := strings.SplitAfterN(body, "\n", 4)
	head := strings.Join(headLines[:3], "")
	noteRE := regexp.MustCompile(`cut: (\d+) characters omitted`)

	for _, limit := range []int{whole, whole - 1, whole - len(entries[2]) + 10, utf8.RuneCountInString(Marker+"\n"+content) + 5, 65536, 20000, 4000, 600, 300} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			g := NewWithT(t)
			got := Cut(body, limit)
			n := utf8.RuneCountInString(got)
			g.Expect(n).To(BeNumerically("<=", limit))
			g.Expect(got).To(HavePrefix(head), "marker, meta and summary are kept")
			g.Expect(strings.Count(got, "<details>")).To(Equal(strings.Count(got, "</details>")), "details balanced")
			m := noteRE.FindStringSubmatch(got)
			switch {
			case limit >= whole:
				g.Expect(got).To(Equal(body))
			case limit >= utf8.RuneCountInString(Marker+"\n"+content):
				// Only history goes, oldest first; the content is whole, with no note.
				g.Expect(m).To(BeNil())
				g.Expect(got).To(HavePrefix(Marker + "\n" + content))
				_, es := parse(got)
				g.Expect(len(es)).To(BeNumerically("<", len(entries)))
				if len(es) > 0 {
					g.Expect(es[0]).To(Equal(entries[0]), "the newest entries stay")
				}
			default:
				g.Expect(m).NotTo(BeNil(), "a note says what was cut")
				omitted, _ := strconv.Atoi(m[1])
				kept := utf8.RuneCountInString(got[:strings.LastIndex(got, "\n> ✂️ cut:")])
				// What is kept plus what is omitted is the whole, less the closers added.
				g.Expect(kept + omitted).To(BeNumerically("~", whole, 40))
				g.Expect(got).NotTo(ContainSubstring(historyLine))
			}
		})
	}
}

// Text from a pull request cannot forge markers, open HTML, mention people or break tables.
func TestEscaping(t *testing.T) {
	t.Parallel()
	evil := "x <!-- drplan:history --> </details> <script>alert(1)</script> @security-team | `tick` *bold* [link](http://e) #1"
	p := payments(time.Minute)
	p.Name = evil
	p.Waiting = []string{evil}
	p.Primary = evil
	p.FailoverStatus = &planner.FailoverReport{Phase: planner.FailoverPending, Notes: []string{evil},
		Steps: []planner.FailoverStepReport{{Name: evil, Wave: evil, Volumes: []string{evil}, Gates: []planner.GateReport{{Kind: "Deployment", Name: evil}},
			Scale: []planner.ScaleReport{{Kind: evil, Namespace: evil, Name: evil, Replicas: 1}}}}}
	in := PreviewInput{Revision: sha1, Problems: []string{"plans/" + evil + ".yaml:1:2: spec.x: " + evil},
		Report: planner.Report{Now: now, Clusters: map[string]planner.ClusterReport{evil: {Reachable: false, Error: evil}}, Plans: []planner.PlanReport{p}},
	}
	g := NewWithT(t)
	out := Preview(in)
	rest := out[strings.Index(out, "\n")+1:]
	g.Expect(rest).NotTo(ContainSubstring("<!--"))
	// Outside code spans, where Markdown reads HTML and links.
	var md []string
	for _, l := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(l, "<details><summary>") { // HTML: Markdown is not read there
			md = append(md, l)
		}
	}
	plain := stripCode(strings.Join(md, "\n"))
	g.Expect(plain).NotTo(ContainSubstring("<script"))
	g.Expect(plain).NotTo(ContainSubstring("</details> "))
	g.Expect(plain).NotTo(MatchRegexp(`[^\\]\[link\]`))
	g.Expect(rest).NotTo(MatchRegexp(`@security`))
	for _, line := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		// Every row of a table has as many unescaped pipes as its header.
		g.Expect(len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1))).To(BeElementOf(4, 5, 6), line)
	}
	g.Expect(strings.Count(stripCode(out), "<details>")).To(Equal(strings.Count(stripCode(out), "</details>")))
	// The history survives the evil content: composed twice, the entry is parsed back whole.
	body := Compose(Marker, Compose(Marker, "", out, 0), preview(sha2, time.Minute), 0)
	_, entries := parse(body)
	g.Expect(entries).To(HaveLen(1))
	g.Expect(entries[0]).To(ContainSubstring("security"))
}

func TestHuman(t *testing.T) {
	t.Parallel()
	cases := map[time.Duration]string{
		0: "0s", -time.Second: "0s", 1500 * time.Millisecond: "2s", 59 * time.Second: "59s",
		time.Minute: "1m", 3*time.Minute + 20*time.Second: "3m20s", 12*time.Minute + 29*time.Second: "12m",
		time.Hour + 5*time.Minute: "1h05m", 47 * time.Hour: "47h00m", 51 * time.Hour: "2d03h",
	}
	for d, want := range cases {
		NewWithT(t).Expect(human(d)).To(Equal(want), d.String())
	}
}

// stripCode removes the code spans of Markdown text: runs of n backticks up to the next run
// of exactly n.
func stripCode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) {
			b.WriteString(s[i : i+2])
			i += 2
			continue
		}
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		fence := strings.Repeat("`", n)
		j := i + n
		for {
			k := strings.Index(s[j:], fence)
			if k < 0 {
				b.WriteString(fence)
				i += n
				break
			}
			end := j + k + n
			if end < len(s) && s[end] == '`' {
				j = end
				for j < len(s) && s[j] == '`' {
					j++
				}
				continue
			}
			b.WriteString("CODE")
			i = end
			break
		}
	}
	return b.String()
}

func ExampleCut() {
	body := Compose(Marker, "", preview(sha1, time.Minute), 0)
	fmt.Println(Cut(body, 400))
	// Output:
	// <!-- drplan:pr -->
	// <!-- drplan:meta kind=preview revision=3f2a9c1e5b7d40aa11c2d3e4f5a6b7c8d9e0f1a2 -->
	// ✅ **drplan preview: valid** · no change to the clusters · `3f2a9c1e5b7d`
	//
	// Head `3f2a9c1e5b7d` compared with the live clusters at 2026-11-21 12:00 UTC. Nothing is changed before the merge.
	//
	// > ✂️ cut: 434 characters omitted to fit the forge's comment limit
}
