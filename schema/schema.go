package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/plans/strictyaml"
)

// Kind is one of drplan's YAML kinds, with the files generated for it.
type Kind struct {
	// Name is the kind, as written in documents.
	Name string
	// Type is the Go type of a document.
	Type reflect.Type
	// File is the name of its JSON Schema in this directory.
	File string
	// Path is the prefix of field paths in the reference, such as "" for top-level fields.
	Path string
	// DurationPattern is the pattern of the kind's durations: every duration of a DRPlan must
	// be positive, as plans' validation checks.
	DurationPattern string
}

// Kinds are the kinds drplan reads, in the order of the reference.
var Kinds = []Kind{
	{Name: plans.Kind, Type: reflect.TypeFor[plans.DRPlan](), File: "drplan.schema.json", DurationPattern: strictyaml.PositiveDurationPattern},
	{Name: config.Kind, Type: reflect.TypeFor[config.AgentConfig](), File: "agentconfig.schema.json", DurationPattern: strictyaml.DurationPattern},
}

// enums are string types whose values are a fixed set.
var enums = map[reflect.Type][]any{
	reflect.TypeFor[plans.AccessMode](): {
		string(plans.ReadWriteOnce), string(plans.ReadWriteOncePod), string(plans.ReadOnlyMany), string(plans.ReadWriteMany),
	},
}

// Reflect returns the JSON Schema of k, with descriptions and defaults from the Go comments.
func Reflect(k Kind) (*jsonschema.Schema, error) {
	c, err := readComments(k.Type, reflect.TypeFor[strictyaml.Duration]())
	if err != nil {
		return nil, err
	}
	var defaultErr error
	r := &jsonschema.Reflector{
		Anonymous:                  true,
		DoNotReference:             true,
		ExpandedStruct:             true,
		RequiredFromJSONSchemaTags: true,
		LookupComment:              c.lookup,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			if t == reflect.TypeFor[strictyaml.Duration]() {
				return &jsonschema.Schema{Type: "string", Pattern: k.DurationPattern}
			}
			if values, ok := enums[t]; ok {
				return &jsonschema.Schema{Type: "string", Enum: values}
			}
			return nil
		},
	}
	s := r.ReflectFromType(k.Type)
	s.Title = k.Name
	s.Description = c.lookup(k.Type, "")
	walk(s, func(_ string, p *jsonschema.Schema) {
		def, ok, err := DefaultOf(p.Description)
		if err != nil && defaultErr == nil {
			defaultErr = fmt.Errorf("schema of %s: %w", k.Name, err)
		}
		if ok {
			p.Default = def
		}
	})
	return s, defaultErr
}

// Generate returns the JSON Schema of k as the checked-in file holds it.
func Generate(k Kind) ([]byte, error) {
	s, err := Reflect(k)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode schema of %s: %w", k.Name, err)
	}
	return buf.Bytes(), nil
}

// DefaultText returns the "Default: ..." sentence of a description, without its label, and
// whether there is one.
func DefaultText(description string) (string, bool) {
	_, after, ok := strings.Cut(description, "Default: ")
	return strings.TrimSpace(after), ok
}

// DefaultOf reads a literal default from a description ending with "Default: `x`." or
// "Default: `x` (a note).": x is a JSON value, or else a string. It reports false when the
// description has no default or a default in words.
func DefaultOf(description string) (any, bool, error) {
	d, ok := DefaultText(description)
	if !ok || !strings.HasPrefix(d, "`") {
		return nil, false, nil
	}
	end := strings.Index(d[1:], "`")
	if end < 0 {
		return nil, false, fmt.Errorf("unclosed ` in default %q", d)
	}
	literal, rest := d[1:end+1], strings.TrimSpace(d[end+2:])
	if rest != "." && !(strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ").")) {
		return nil, false, nil // `x` is part of a sentence: a default in words
	}
	var v any
	if err := json.Unmarshal([]byte(literal), &v); err != nil {
		return literal, true, nil //nolint:nilerr // not JSON: the literal is a bare string
	}
	return v, true, nil
}

// walk calls fn on every property schema below s, depth first in declaration order, with its
// field path (spec.volumes[].name).
func walk(s *jsonschema.Schema, fn func(path string, p *jsonschema.Schema)) {
	var visit func(path string, s *jsonschema.Schema)
	visit = func(path string, s *jsonschema.Schema) {
		if s.Items != nil {
			visit(path+"[]", s.Items)
		}
		if s.Properties == nil {
			return
		}
		for name, p := range s.Properties.FromOldest() {
			child := name
			if path != "" {
				child = path + "." + name
			}
			fn(child, p)
			visit(child, p)
		}
	}
	visit("", s)
}
