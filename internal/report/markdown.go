package report

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// flat puts s on one line: line breaks and tabs become single spaces.
func flat(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// unmark breaks the sequences this package parses in its own comments ("<!--", <details>)
// and GitHub mentions, with invisible characters, so that text from a pull request cannot
// forge them, not even inside code spans.
var unmark = strings.NewReplacer("<!--", "<!\u200b--", "-->", "-\u200b->", "@", "@\u200b",
	"<details", "<\u200bdetails", "</details", "<\u200b/details")

// code renders s as an inline code span on one line. It is not for table cells: see codeCell.
func code(s string) string {
	s = unmark.Replace(flat(s))
	if s == "" {
		return "—"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if fence != "`" || strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// codeCell is code for a table cell: GFM splits cells at every unescaped pipe, code spans
// included.
func codeCell(s string) string {
	return strings.ReplaceAll(code(s), "|", `\|`)
}

// text escapes s as Markdown text on one line, safe in a table cell.
func text(s string) string {
	s = unmark.Replace(flat(s))
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '#', '|', '~', '$':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// htmlText escapes s for an HTML element such as <summary>, where Markdown is not rendered.
func htmlText(s string) string {
	return html.EscapeString(unmark.Replace(flat(s)))
}

// row renders a table row from cells already escaped for a cell.
func row(cells ...string) string {
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// header renders a table's header and delimiter rows.
func header(cols ...string) string {
	return row(cols...) + "|" + strings.Repeat("---|", len(cols)) + "\n"
}

// human renders a duration as people say it: 45s, 3m20s, 12m, 1h05m, 2d03h.
func human(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 10*time.Minute:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%02ds", m, s)
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		d = d.Round(time.Hour)
		return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
}

// when renders a time to the minute, in UTC.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// clock renders a time of day to the second, in UTC.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("15:04:05")
}

// plural renders "1 change", "2 changes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// list renders a bullet list of already escaped items.
func list(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString("- " + it + "\n")
	}
	return b.String()
}

// fold renders a <details> section; summary is HTML.
func fold(summary, body string) string {
	return "<details><summary>" + summary + "</summary>\n\n" + strings.TrimRight(body, "\n") + "\n\n</details>\n"
}
