package plans

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/drplan/drplan/plans/strictyaml"
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
	start, end, err := documentSpan(file, line)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(string(file), "\n")
	var b bytes.Buffer
	b.WriteString(strings.Join(lines[:start], ""))
	b.Write(doc)
	if !bytes.HasSuffix(doc, []byte("\n")) {
		b.WriteString("\n")
	}
	b.WriteString(strings.Join(lines[end:], ""))
	return b.Bytes(), nil
}

// ReversedDocument returns file with p's document (found by p.Start) rewritten as reversed, the
// plan that protects p's volumes again after its failover (planner.ReversedPlan), with header
// (comment lines) before it. Only what a reversal changes is edited in the YAML as written:
// primary and secondary, failover, drill and suspend, each volume's name and standbyName, and a
// PersistentVolume's name; the team's comments, field order and the fields it left to their
// defaults stay, so the pull request reads as the change it is. When the edited document would
// not load as exactly reversed (the team wrote anchors, say), the document is reversed written
// out in full instead.
func ReversedDocument(file []byte, p *Plan, reversed *DRPlan, header string) ([]byte, error) {
	start, end, err := documentSpan(file, p.Start.Line)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(string(file), "\n")
	doc := []byte(strings.Join(lines[start:end], ""))
	want, err := Marshal(reversed)
	if err != nil {
		return nil, err
	}
	out := want
	if edited, err := reverseNodes(doc, reversed); err == nil && sameDecoded(p.File, edited, want) {
		out = edited
	}
	return ReplaceDocument(file, p.Start.Line, append([]byte(header), out...))
}

// reverseNodes edits doc, one plan document, into reversed in place (see ReversedDocument).
func reverseNodes(doc []byte, reversed *DRPlan) ([]byte, error) {
	var root yaml3.Node
	if err := yaml3.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	if root.Kind != yaml3.DocumentNode || len(root.Content) != 1 {
		return nil, fmt.Errorf("not one YAML document")
	}
	spec := mapValue(root.Content[0], "spec")
	if spec == nil || spec.Kind != yaml3.MappingNode {
		return nil, fmt.Errorf("no spec mapping")
	}
	s := reversed.Spec
	setScalar(spec, "primary", s.Primary, "!!str", true)
	setScalar(spec, "secondary", s.Secondary, "!!str", true)
	setScalar(spec, "failover", "false", "!!bool", false)
	deleteKey(spec, "drill")
	deleteKey(spec, "suspend")
	vols := mapValue(spec, "volumes")
	if vols == nil || vols.Kind != yaml3.SequenceNode || len(vols.Content) != len(s.Volumes) {
		return nil, fmt.Errorf("volumes are not the plan's list")
	}
	for i, item := range vols.Content {
		if item.Kind != yaml3.MappingNode {
			return nil, fmt.Errorf("volume %d is not a mapping", i)
		}
		setScalar(item, "name", s.Volumes[i].Name, "!!str", true)
		setScalar(item, "standbyName", s.Volumes[i].StandbyName, "!!str", true)
		if pv := mapValue(item, "pv"); pv != nil && pv.Kind == yaml3.MappingNode {
			deleteKey(pv, "name")
		}
	}
	var b bytes.Buffer
	enc := yaml3.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// sameDecoded reports whether the plan documents a and b load as the same plan, defaults and
// all, with no problem in either.
func sameDecoded(file string, a, b []byte) bool {
	decode := func(data []byte) *Plan {
		docs, problems := strictyaml.Parse(file, data)
		if len(problems) > 0 || len(docs) != 1 {
			return nil
		}
		p := (&loader{}).decode(docs[0])
		if len(p.Problems) > 0 {
			return nil
		}
		return p
	}
	pa, pb := decode(a), decode(b)
	return pa != nil && pb != nil && reflect.DeepEqual(pa.DRPlan, pb.DRPlan)
}

// documentSpan are the lines [start, end) of the YAML document of file that holds line (1-based).
func documentSpan(file []byte, line int) (start, end int, err error) {
	lines := strings.SplitAfter(string(file), "\n")
	end = len(lines)
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
		return 0, 0, fmt.Errorf("no document at line %d", line)
	}
	return start, end, nil
}

// mapValue is the value of key in mapping m, or nil.
func mapValue(m *yaml3.Node, key string) *yaml3.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setScalar sets key's value in mapping m, keeping the value's style and comments; a key that
// is not there is added when add is set.
func setScalar(m *yaml3.Node, key, value, tag string, add bool) {
	if v := mapValue(m, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Content, v.Alias = yaml3.ScalarNode, tag, value, nil, nil
		if v.Style&(yaml3.LiteralStyle|yaml3.FoldedStyle) != 0 {
			v.Style = 0
		}
		return
	}
	if add {
		m.Content = append(m.Content, &yaml3.Node{Kind: yaml3.ScalarNode, Tag: "!!str", Value: key},
			&yaml3.Node{Kind: yaml3.ScalarNode, Tag: tag, Value: value})
	}
}

// deleteKey removes key and its value from mapping m.
func deleteKey(m *yaml3.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}
