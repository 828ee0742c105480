package report

import (
	"fmt"
	"unicode/utf8"
)

// StatusLimit is the longest commit status description, in characters, that every forge keeps
// whole: GitHub's 140 (Gitea and GitLab keep 255). internal/forge cuts a longer one to its
// forge's limit, ending it in "…".
const StatusLimit = 140

// problemsStatus says how many problems there are and names as many of them, in order, as fit
// in limit characters (no limit when limit is 0), then how many it leaves out:
//
//	3 problems: a.yaml:7: spec.rpo: must be positive, got 0s; b.yaml:9: spec.primary: required … and 1 more
//
// Each problem is FILE:LINE: FIELD: MESSAGE. The first one is always named, cut short with "…"
// when it does not fit whole.
func problemsStatus(problems []string, limit int) string {
	width := utf8.RuneCountInString
	n := len(problems)
	head := plural(n, "problem", "problems") + ": "
	more := func(left int) string {
		if left == 0 {
			return ""
		}
		return fmt.Sprintf(" and %d more", left)
	}
	rest := func(left int) string {
		if left == 0 {
			return ""
		}
		return " …" + more(left)
	}
	line, named := head+statusProblem(problems[0]), 1
	for ; named < n; named++ {
		next := line + "; " + statusProblem(problems[named])
		if limit > 0 && width(next+rest(n-named-1)) > limit {
			break
		}
		line = next
	}
	line += rest(n - named)
	if limit <= 0 || width(line) <= limit {
		return line
	}
	// The first problem alone is too long: cut it, and keep the count of the others.
	tail := more(n - 1)
	room := limit - width(head) - width(tail) - 1
	if room < 1 { // a limit too small for any problem: cut the line
		return string([]rune(line)[:max(limit-1, 0)]) + "…"
	}
	return head + string([]rune(statusProblem(problems[0]))[:room]) + "…" + tail
}

// statusProblem renders a problem as FILE:LINE: FIELD: MESSAGE on one line: the column is
// left out, as a status has little room.
func statusProblem(p string) string {
	if m := problemRE.FindStringSubmatch(p); m != nil {
		p = m[1] + ":" + m[2] + ": " + m[4] + ": " + m[5]
	}
	return flat(p)
}
