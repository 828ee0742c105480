package report

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Markers: the hidden first line by which the agent finds its own comment again. The agent
// owns them: nothing else may start a comment with them.
const (
	// Marker starts the agent's one comment on a pull request.
	Marker = "<!-- drplan:pr -->"
	// CommitMarker starts the agent's comment on a commit pushed without a pull request.
	CommitMarker = "<!-- drplan:commit -->"
)

// ShardMarker is marker for one shard of sharded agents: each shard finds its own comment. No
// shard: marker itself.
func ShardMarker(marker, shard string) string {
	if shard == "" {
		return marker
	}
	return strings.TrimSuffix(marker, " -->") + " shard=" + shard + " -->"
}

// MaxHistory is how many earlier versions a comment keeps.
const MaxHistory = 5

// Kind is what a comment's content tells.
type Kind string

// Kinds of content.
const (
	KindPreview  Kind = "preview"
	KindApplied  Kind = "applied"
	KindProgress Kind = "progress"
)

// Lines this package writes and parses back. Escaping keeps "<!--" out of anything else.
const (
	historyLine = "<!-- drplan:history -->"
	entryPrefix = "<!-- drplan:entry "
)

var metaRE = regexp.MustCompile(`^<!-- drplan:meta kind=(\S+) revision=(\S*) -->$`)

// meta is the hidden line that starts every content: its kind and revision.
func meta(kind Kind, revision string) string {
	return fmt.Sprintf("<!-- drplan:meta kind=%s revision=%s -->", kind, revision)
}

// key reads a content's kind and revision from its meta line.
func key(content string) (string, bool) {
	first, _, _ := strings.Cut(content, "\n")
	m := metaRE.FindStringSubmatch(strings.TrimSpace(first))
	if m == nil {
		return "", false
	}
	return m[1] + " " + m[2], true
}

// Compose returns the comment body for new content, given the comment's previous body ("" for
// a new comment): marker, content, history, cut to limit characters (0: no limit).
func Compose(marker, previous, content string, limit int) string {
	return Cut(marker+"\n"+WithHistory(previous, content), limit)
}

// WithHistory returns content followed by the history of the previous body. The previous
// content (without its own history) becomes the newest history entry when it is of another
// kind or revision; content of the same kind and revision replaces it in place. At most
// MaxHistory entries are kept.
func WithHistory(previous, content string) string {
	content = strings.TrimRight(content, "\n") + "\n"
	prev, entries := parse(previous)
	if prev != "" {
		newKey, _ := key(content)
		if oldKey, ok := key(prev); !ok || oldKey != newKey {
			entries = append([]string{entry(prev)}, entries...)
		}
	}
	if len(entries) > MaxHistory {
		entries = entries[:MaxHistory]
	}
	return content + history(entries)
}

// parse splits a comment body into its content (without the marker line) and its history
// entries, newest first. A body that is not the agent's format yields no content.
func parse(body string) (content string, entries []string) {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	if strings.HasPrefix(body, "<!-- drplan:") && !strings.HasPrefix(body, "<!-- drplan:meta") {
		_, body, _ = strings.Cut(body, "\n")
	}
	if _, ok := key(body); !ok {
		return "", nil
	}
	content, hist, found := strings.Cut(body, historyLine+"\n")
	content = strings.TrimRight(content, "\n") + "\n"
	if !found {
		return content, nil
	}
	// The History section's own end, then one entry per entry line.
	hist = strings.TrimSuffix(strings.TrimRight(hist, "\n"), "</details>")
	for i, part := range strings.Split(hist, "\n"+entryPrefix) {
		if i > 0 {
			entries = append(entries, entryPrefix+strings.TrimRight(part, "\n")+"\n")
		}
	}
	return content, entries
}

// entry folds a previous content into a history entry titled by its summary line.
func entry(content string) string {
	_, rest, _ := strings.Cut(content, "\n") // the meta line
	k, _ := key(content)
	summary, body, _ := strings.Cut(strings.TrimLeft(rest, "\n"), "\n")
	return entryPrefix + "kind=" + strings.Replace(k, " ", " revision=", 1) + " -->\n" +
		fold(summaryHTML(summary), strings.TrimLeft(body, "\n"))
}

// summaryHTML turns a Markdown summary line into HTML for a <summary> element: code spans
// become <code>, bold marks go, backslash escapes are resolved and < > " are escaped.
func summaryHTML(md string) string {
	var b strings.Builder
	inCode := false
	for i := 0; i < len(md); i++ {
		c := md[i]
		switch {
		case c == '\\' && i+1 < len(md) && !inCode:
			i++
			writeHTMLByte(&b, md[i])
		case c == '`':
			if inCode {
				b.WriteString("</code>")
			} else {
				b.WriteString("<code>")
			}
			inCode = !inCode
		case c == '*' && !inCode && i+1 < len(md) && md[i+1] == '*':
			i++
		default:
			writeHTMLByte(&b, c)
		}
	}
	if inCode {
		b.WriteString("</code>")
	}
	return b.String()
}

// writeHTMLByte writes one byte of UTF-8 text, escaping what HTML would read.
func writeHTMLByte(b *strings.Builder, c byte) {
	switch c {
	case '<':
		b.WriteString("&lt;")
	case '>':
		b.WriteString("&gt;")
	case '"':
		b.WriteString("&#34;")
	default:
		b.WriteByte(c)
	}
}

// history renders the History section around entries.
func history(entries []string) string {
	if len(entries) == 0 {
		return ""
	}
	title := fmt.Sprintf("History: %s, newest first", plural(len(entries), "earlier version", "earlier versions"))
	return "\n" + historyLine + "\n<details><summary>" + title + "</summary>\n\n" +
		strings.Join(entries, "\n") + "\n</details>\n"
}

// Cut fits a comment body into limit characters (runes): history entries go first, oldest
// first; then the content is cut at a line, keeping the marker, the meta line and the summary,
// closing any <details> left open and ending with a note "cut: N characters omitted". A limit
// of 0 or less means no limit.
func Cut(body string, limit int) string {
	if limit <= 0 || utf8.RuneCountInString(body) <= limit {
		return body
	}
	marker := ""
	if strings.HasPrefix(body, "<!-- drplan:") && !strings.HasPrefix(body, "<!-- drplan:meta") {
		first, _, _ := strings.Cut(body, "\n")
		marker = first + "\n"
	}
	content, entries := parse(body)
	if content == "" {
		return cutLines(body, utf8.RuneCountInString(body), limit, 1)
	}
	for len(entries) > 0 {
		entries = entries[:len(entries)-1]
		if s := marker + content + history(entries); utf8.RuneCountInString(s) <= limit {
			return s
		}
	}
	whole := utf8.RuneCountInString(body)
	return cutLines(marker+content, whole, limit, strings.Count(marker, "\n")+2)
}

// cutLines keeps the first lines of s that fit with the note, at least keep lines.
func cutLines(s string, whole, limit, keep int) string {
	lines := strings.SplitAfter(s, "\n")
	kept, n, open := "", 0, 0
	for i, l := range lines {
		o := open + strings.Count(l, "<details>") - strings.Count(l, "</details>")
		tail := closers(o) + note(whole-n-utf8.RuneCountInString(l))
		if i >= keep && n+utf8.RuneCountInString(l)+utf8.RuneCountInString(tail) > limit {
			break
		}
		kept += l
		n += utf8.RuneCountInString(l)
		open = o
	}
	out := strings.TrimRight(kept, "\n") + "\n" + closers(open) + note(whole-n)
	if r := []rune(out); len(r) > limit {
		// Even the summary does not fit: a hard cut, never over the limit.
		return string(r[:limit])
	}
	return out
}

func closers(open int) string {
	if open <= 0 {
		return ""
	}
	return "\n" + strings.Repeat("</details>\n", open)
}

func note(omitted int) string {
	return fmt.Sprintf("\n> ✂️ cut: %d characters omitted to fit the forge's comment limit\n", max(omitted, 0))
}
