package strictyaml

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Marshal renders v as YAML by its json tags, keeping the fields in the order the Go type
// declares them (unlike a map-based conversion, which sorts them) and quoting only where YAML
// needs it.
func Marshal(v any) ([]byte, error) { return MarshalCommented(v, nil) }

// MarshalCommented renders v as Marshal does, with a line comment on each value for which
// comment, given the value's field path (spec.volumes[0].name), returns text: after a single
// value, or after the key of a mapping or a list. Empty values (an empty string, list or
// mapping) get none. A nil comment adds no comment.
func MarshalCommented(v any, comment func(path string) string) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %T to JSON: %w", v, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read %T back as YAML: %w", v, err)
	}
	plain(&doc)
	if comment != nil && len(doc.Content) == 1 {
		annotate(doc.Content[0], "", comment)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode %T as YAML: %w", v, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode %T as YAML: %w", v, err)
	}
	return buf.Bytes(), nil
}

// plain drops the JSON styles (flow collections, double quotes) so the encoder picks block
// style and quotes only where needed.
func plain(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plain(c)
	}
}

// annotate sets the line comments of the values below n, a node at path.
func annotate(n *yaml.Node, path string, comment func(string) string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			child := Join(path, key.Value)
			if c := comment(child); c != "" && !empty(val) {
				if val.Kind == yaml.ScalarNode {
					val.LineComment = c
				} else {
					key.LineComment = c
				}
			}
			annotate(val, child, comment)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			child := fmt.Sprintf("%s[%d]", path, i)
			if c := comment(child); c != "" && item.Kind == yaml.ScalarNode && !empty(item) {
				item.LineComment = c
			}
			annotate(item, child, comment)
		}
	}
}

func empty(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		return n.Value == "" && n.ShortTag() == strTag
	}
	return len(n.Content) == 0
}
