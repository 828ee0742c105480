package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize is the largest file Parse accepts, in bytes (1 MiB). Plans and agent configs are
// a few kilobytes; anything this large is a mistake or an attack.
const MaxFileSize = 1 << 20

// Document is one YAML document of a file, not yet decoded.
type Document struct {
	// File is the file the document was read from.
	File string
	// Index is the 0-based place of the document in its file.
	Index int
	// Node is the document's top node: a mapping for any Kubernetes-style object.
	Node *yaml.Node
	// APIVersion and Kind are the document's top-level apiVersion and kind, when they are
	// written as plain values; empty otherwise.
	APIVersion, Kind string
}

// Start returns the position of the document's first value.
func (d Document) Start() Position { return Position{Line: d.Node.Line, Column: d.Node.Column} }

// TopLevel returns the key and value nodes of the document's top-level field name, if the
// document is a mapping and has it (the first one when the key is written twice).
func (d Document) TopLevel(name string) (key, value *yaml.Node, ok bool) {
	if d.Node.Kind != yaml.MappingNode {
		return nil, nil, false
	}
	for i := 0; i+1 < len(d.Node.Content); i += 2 {
		k := d.Node.Content[i]
		if k.Kind == yaml.ScalarNode && k.Value == name {
			return k, resolveAlias(d.Node.Content[i+1]), true
		}
	}
	return nil, nil, false
}

// ReadFile reads name from fsys, refusing files larger than MaxFileSize without reading them.
// A problem is returned instead of an error: a file that cannot be read is a finding about the
// tree being loaded.
func ReadFile(fsys fs.FS, name string) ([]byte, *Problem) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fileProblem(name, fmt.Sprintf("cannot read file: %v", stripPathError(err)))
	}
	defer f.Close() //nolint:errcheck // read-only file
	if info, err := f.Stat(); err == nil && info.Size() > MaxFileSize {
		return nil, tooLarge(name, info.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fileProblem(name, fmt.Sprintf("cannot read file: %v", stripPathError(err)))
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(name, int64(len(data)))
	}
	return data, nil
}

// Parse checks data, the content of file, as a whole and splits it into its YAML documents.
// Empty documents are skipped. A file that is too large, binary, not UTF-8, empty or not YAML
// gives exactly one problem; documents before a syntax error are still returned.
func Parse(file string, data []byte) ([]Document, []Problem) {
	if len(data) > MaxFileSize {
		return nil, []Problem{*tooLarge(file, int64(len(data)))}
	}
	for _, bom := range [][]byte{{0xFF, 0xFE}, {0xFE, 0xFF}, {0x00, 0x00, 0xFE, 0xFF}} {
		if bytes.HasPrefix(data, bom) {
			return nil, []Problem{*fileProblem(file, "UTF-16 or UTF-32 text: YAML files must be UTF-8")}
		}
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		pos := positionOf(data, i)
		return nil, []Problem{{File: file, Line: pos.Line, Column: pos.Column, Field: RootField,
			Message: "binary content (NUL byte): not a YAML text file"}}
	}
	if !utf8.Valid(data) {
		i := firstInvalidUTF8(data)
		pos := positionOf(data, i)
		return nil, []Problem{{File: file, Line: pos.Line, Column: pos.Column, Field: RootField,
			Message: fmt.Sprintf("invalid UTF-8 (byte 0x%02x): YAML files must be UTF-8 text", data[i])}}
	}
	docs, problems := splitDocuments(file, data)
	if len(docs) == 0 && len(problems) == 0 {
		return nil, []Problem{*fileProblem(file, "file is empty: no YAML document in it")}
	}
	return docs, problems
}

// splitDocuments runs the YAML parser over data. A document dropped for its aliases is a
// problem and the next documents are read; a syntax error ends the file. The parser is
// third-party code fed with untrusted text: a panic in it becomes a problem, not a crash.
func splitDocuments(file string, data []byte) (docs []Document, problems []Problem) {
	defer func() {
		if r := recover(); r != nil {
			problems = append(problems, *fileProblem(file, fmt.Sprintf("YAML parser failed: %v", r)))
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for index := 0; ; index++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, problems
		}
		if err != nil {
			return docs, append(problems, *syntaxProblem(file, err))
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			continue
		}
		top := doc.Content[0]
		if top.Kind == yaml.ScalarNode && top.ShortTag() == nullTag {
			continue
		}
		if p := checkExpansion(file, top); p != nil {
			problems = append(problems, *p)
			continue
		}
		d := Document{File: file, Index: index, Node: top}
		d.APIVersion = d.topLevelString("apiVersion")
		d.Kind = d.topLevelString("kind")
		docs = append(docs, d)
	}
}

func (d Document) topLevelString(name string) string {
	_, v, ok := d.TopLevel(name)
	if !ok || v.Kind != yaml.ScalarNode || v.ShortTag() != strTag {
		return ""
	}
	return v.Value
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxProblem turns a YAML parser error into a problem. The parser reports a line but no
// column, so the column is 1.
func syntaxProblem(file string, err error) *Problem {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			line = n
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &Problem{File: file, Line: line, Column: 1, Field: RootField, Message: "YAML syntax error: " + msg}
}

func fileProblem(file, msg string) *Problem {
	return &Problem{File: file, Line: 1, Column: 1, Field: RootField, Message: msg}
}

func tooLarge(file string, size int64) *Problem {
	return fileProblem(file, fmt.Sprintf("file is %d bytes, above the limit of %d bytes (1 MiB)", size, MaxFileSize))
}

// stripPathError drops the path from a *fs.PathError: the problem already names the file.
func stripPathError(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// positionOf returns the line and column (in characters) of byte offset i of data.
func positionOf(data []byte, i int) Position {
	before := data[:i]
	line := bytes.Count(before, []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	col := 1
	for rest := before[lineStart:]; len(rest) > 0; col++ {
		_, size := utf8.DecodeRune(rest)
		rest = rest[size:]
	}
	return Position{Line: line, Column: col}
}

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// checkExpansion measures how many values top holds once its aliases are expanded, without
// expanding them (each anchored value is measured once), and reports a document above
// MaxValues (an alias bomb: a few lines that expand to billions of values) or with an alias
// inside the value it names (an infinite expansion). Such a document is dropped whole.
func checkExpansion(file string, top *yaml.Node) *Problem {
	e := expansion{memo: map[*yaml.Node]int{}, active: map[*yaml.Node]bool{}}
	n := e.size(top)
	switch {
	case e.cycle != nil:
		return &Problem{File: file, Line: e.cycle.Line, Column: e.cycle.Column, Field: RootField,
			Message: fmt.Sprintf("alias *%s is inside the value it names: it would expand forever", e.cycle.Value)}
	case n > MaxValues:
		return &Problem{File: file, Line: top.Line, Column: top.Column, Field: RootField,
			Message: fmt.Sprintf("document expands to more than %d values through aliases (an alias bomb?): not read", MaxValues)}
	}
	return nil
}

type expansion struct {
	memo   map[*yaml.Node]int
	active map[*yaml.Node]bool
	cycle  *yaml.Node
}

// size returns the number of values n expands to, capped just above MaxValues.
func (e *expansion) size(n *yaml.Node) int {
	if e.cycle != nil {
		return 0
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return 1
		}
		if e.active[n.Alias] {
			e.cycle = n
			return 0
		}
		return e.size(n.Alias)
	}
	if v, ok := e.memo[n]; ok {
		return v
	}
	e.active[n] = true
	total := 1
	for _, c := range n.Content {
		total = min(total+e.size(c), MaxValues+1)
	}
	delete(e.active, n)
	e.memo[n] = total
	return total
}
