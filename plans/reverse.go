package plans

import (
	"bytes"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Marshal renders a plan as the YAML document of a plan file.
func Marshal(d *DRPlan) ([]byte, error) {
	b, err := yaml.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", d.Metadata.Name, err)
	}
	return b, nil
}

// ReplaceDocument returns file with the YAML document that holds line (1-based) replaced by
// doc; the file's other documents, and the separators between them, are kept.
func ReplaceDocument(file []byte, line int, doc []byte) ([]byte, error) {
	lines := strings.SplitAfter(string(file), "\n")
	start, end := 0, len(lines) // the document's lines: [start, end)
	for i, l := range lines {
		if strings.TrimRight(l, " \t\r\n") != "---" {
			continue
		}
		switch {
		case i+1 < line:
			start = i + 1
		case end == len(lines) && i+1 >= line:
			end = i
		}
	}
	if line < 1 || line > len(lines) || start > end {
		return nil, fmt.Errorf("no document at line %d", line)
	}
	var b bytes.Buffer
	b.WriteString(strings.Join(lines[:start], ""))
	b.Write(doc)
	if !bytes.HasSuffix(doc, []byte("\n")) {
		b.WriteString("\n")
	}
	b.WriteString(strings.Join(lines[end:], ""))
	return b.Bytes(), nil
}
