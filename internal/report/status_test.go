package report

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	. "github.com/onsi/gomega"
)

func TestProblemsStatus(t *testing.T) {
	short := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("p.yaml:%d:3: spec.x: bad", i+1))
		}
		return out
	}
	long := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("plans/a-long-file-name.yaml:%d:13: spec.volumes[%d].replicas: must be 1 to 20, got 0, and some more words to make it longer than a status", i+1, i))
		}
		return out
	}
	tests := []struct {
		name     string
		problems []string
		limit    int
		want     string
	}{
		{
			name:     "one problem",
			problems: []string{"plans/a.yaml:10:13: spec.schedule.retain: must be 1 to 100, got 0"},
			limit:    140,
			want:     "1 problem: plans/a.yaml:10: spec.schedule.retain: must be 1 to 100, got 0",
		},
		{
			name:     "a problem that is not FILE:LINE:COL, on two lines",
			problems: []string{"something\nbroke"},
			limit:    140,
			want:     "1 problem: something broke",
		},
		{
			name:     "short ones, all fit",
			problems: short(3),
			limit:    140,
			want:     "3 problems: p.yaml:1: spec.x: bad; p.yaml:2: spec.x: bad; p.yaml:3: spec.x: bad",
		},
		{
			name:     "many short ones",
			problems: short(12),
			limit:    140,
			want:     "12 problems: p.yaml:1: spec.x: bad; p.yaml:2: spec.x: bad; p.yaml:3: spec.x: bad; p.yaml:4: spec.x: bad; p.yaml:5: spec.x: bad … and 7 more",
		},
		{
			name:     "many short ones, a larger forge limit",
			problems: short(12),
			limit:    255,
			want: "12 problems: p.yaml:1: spec.x: bad; p.yaml:2: spec.x: bad; p.yaml:3: spec.x: bad; p.yaml:4: spec.x: bad; p.yaml:5: spec.x: bad; " +
				"p.yaml:6: spec.x: bad; p.yaml:7: spec.x: bad; p.yaml:8: spec.x: bad; p.yaml:9: spec.x: bad; p.yaml:10: spec.x: bad … and 2 more",
		},
		{
			name:     "the last one fits only without the count",
			problems: short(2),
			limit:    len("2 problems: p.yaml:1: spec.x: bad; p.yaml:2: spec.x: bad"),
			want:     "2 problems: p.yaml:1: spec.x: bad; p.yaml:2: spec.x: bad",
		},
		{
			name:     "many long ones: the first is cut, the count stays",
			problems: long(5),
			limit:    140,
			want:     "5 problems: plans/a-long-file-name.yaml:1: spec.volumes[0].replicas: must be 1 to 20, got 0, and some more words to make it long… and 4 more",
		},
		{
			name:     "one long one",
			problems: long(1),
			limit:    100,
			want:     "1 problem: plans/a-long-file-name.yaml:1: spec.volumes[0].replicas: must be 1 to 20, got 0, and som…",
		},
		{
			name:     "no limit",
			problems: short(3),
			want:     "3 problems: p.yaml:1: spec.x: bad; p.yaml:2: spec.x: bad; p.yaml:3: spec.x: bad",
		},
		{
			name:     "a limit too small for anything",
			problems: short(3),
			limit:    10,
			want:     "3 problem…",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := problemsStatus(tt.problems, tt.limit)
			g.Expect(got).To(Equal(tt.want))
			if tt.limit > 0 {
				g.Expect(utf8.RuneCountInString(got)).To(BeNumerically("<=", tt.limit))
			}
			g.Expect(got).NotTo(ContainSubstring("\n"))
		})
	}
}

func TestValidStatusFitsEveryForge(t *testing.T) {
	g := NewWithT(t)
	ok, status := PreviewInput{Problems: []string{
		"plans/a.yaml:10:13: spec.schedule.retain: must be 1 to 100, got 0",
		"plans/a.yaml:11:18: spec.schedule.concurrency: must be 1 to 100, got 0",
		"plans/a.yaml:29:21: spec.activation.catchUpTimeout: must be positive, got 0s",
	}}.Valid()
	g.Expect(ok).To(BeFalse())
	g.Expect(status).To(Equal("3 problems: plans/a.yaml:10: spec.schedule.retain: must be 1 to 100, got 0 … and 2 more"))
	g.Expect(utf8.RuneCountInString(status)).To(BeNumerically("<=", StatusLimit))

	ok, status = PreviewInput{Problems: []string{
		"a.yaml:10:13: spec.schedule.retain: must be 1 to 100, got 0",
		"a.yaml:15:17: spec.volumes[0].replicas: must be 1 to 20",
		"b.yaml:12:8: spec.rpo: must be positive, got 0s",
	}}.Valid()
	g.Expect(ok).To(BeFalse())
	g.Expect(status).To(Equal("3 problems: a.yaml:10: spec.schedule.retain: must be 1 to 100, got 0; " +
		"a.yaml:15: spec.volumes[0].replicas: must be 1 to 20 … and 1 more"))
	g.Expect(strings.Count(status, ".yaml")).To(Equal(2))
}
