package strictyaml

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxValues bounds the values of one document, aliases expanded: a plan with ten thousand
// volumes written out is below it; an alias bomb is far above it. It bounds the work any
// document can cause.
const MaxValues = 200_000

// YAML core-schema tags as the parser resolves them.
const (
	nullTag      = "!!null"
	boolTag      = "!!bool"
	strTag       = "!!str"
	intTag       = "!!int"
	floatTag     = "!!float"
	timestampTag = "!!timestamp"
	mergeTag     = "!!merge"
)

// Options tune Decode.
type Options struct {
	// Hint, when set, may return advice for an unknown field named key at path; it replaces the
	// "did you mean" suggestion when it returns anything.
	Hint func(path, key string) string
}

// Decode decodes doc into out, a pointer to a struct, by the json tags of its fields. It
// accepts structs, pointers, slices, strings, booleans, integers and types implementing
// encoding.TextUnmarshaler (such as Duration). Everything that does not fit is a problem at
// its position: unknown fields, duplicate keys, merge keys, custom tags, wrong kinds of value.
// Fields with problems keep their zero value; the rest of the document is still decoded.
// The returned Locations record where every decoded field was written.
func Decode(doc Document, out any, opts Options) (*Locations, []Problem) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("strictyaml.Decode: out must be a non-nil pointer to a struct, got %T", out))
	}
	d := &decoder{file: doc.File, opts: opts, locs: NewLocations(doc.Start())}
	d.decode(doc.Node, v.Elem(), "")
	return d.locs, d.problems
}

type decoder struct {
	file      string
	opts      Options
	locs      *Locations
	problems  []Problem
	values    int
	exhausted bool
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[Duration]()
)

func (d *decoder) problemf(n *yaml.Node, path, format string, args ...any) {
	if path == "" {
		path = RootField
	}
	d.problems = append(d.problems, Problem{
		File: d.file, Line: n.Line, Column: n.Column, Field: path, Message: fmt.Sprintf(format, args...),
	})
}

// count charges n values to the document's budget and reports false, once, when it runs out.
func (d *decoder) count(node *yaml.Node, path string, n int) bool {
	if d.exhausted {
		return false
	}
	d.values += n
	if d.values > MaxValues {
		d.exhausted = true
		d.problemf(node, path, "document has more than %d values once aliases are expanded: too large or too many aliases", MaxValues)
		return false
	}
	return true
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.count(n, path, 1) {
		return
	}
	n = resolveAlias(n)
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == nullTag {
		v.SetZero()
		return
	}
	if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") && n.Tag != "!" {
		d.problemf(n, path, "custom YAML tag %s is not supported", n.Tag)
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshalerType) {
		d.text(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			panic(fmt.Sprintf("strictyaml: cannot decode into %s at %s: map keys must be strings", v.Type(), path))
		}
		d.dict(n, v, path)
	case reflect.String:
		d.string(n, v, path)
	case reflect.Bool:
		d.bool(n, v, path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.int(n, v, path)
	default:
		panic(fmt.Sprintf("strictyaml: cannot decode into %s at %s", v.Type(), path))
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.problemf(n, path, "must be a mapping of fields, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	d.entries(n, path, "a field name must be a plain word", "fields", func(key, val *yaml.Node, child string) {
		f, ok := fields[key.Value]
		if !ok {
			d.unknown(key, child, key.Value, fields)
			return
		}
		d.locate(child, key, val)
		d.decode(val, v.Field(f), child)
	})
}

// dict decodes a mapping of free-form keys (such as labels) into a map with string keys. A
// key is a plain scalar; a duplicate is a problem, as in a mapping of fields.
func (d *decoder) dict(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.problemf(n, path, "must be a mapping, got %s", describe(n))
		return
	}
	if !d.count(n, path, len(n.Content)/2) {
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	d.entries(n, path, "a key must be a plain string", "keys", func(key, val *yaml.Node, child string) {
		d.locate(child, key, val)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, child)
		m.SetMapIndex(reflect.ValueOf(key.Value).Convert(v.Type().Key()), elem)
	})
	v.Set(m)
}

// entries calls each for every entry of the mapping n whose key is a plain scalar, neither a
// merge key nor a duplicate; those are problems (badKey says what a key must be; what names
// the entries in the merge key's problem).
func (d *decoder) entries(n *yaml.Node, path, badKey, what string, each func(key, val *yaml.Node, child string)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if key == nil || key.Kind != yaml.ScalarNode {
			d.problemf(n.Content[i], path, "%s, got %s", badKey, describe(key))
			continue
		}
		if key.ShortTag() == mergeTag {
			d.problemf(key, path, "merge keys (<<) are not supported: write the %s out", what)
			continue
		}
		child := Join(path, key.Value)
		if first, dup := seen[key.Value]; dup {
			d.problemf(key, child, "duplicate key %q (first at line %d)", key.Value, first)
			continue
		}
		seen[key.Value] = key.Line
		each(key, val, child)
	}
}

// locate records where the entry at path is written.
func (d *decoder) locate(path string, key, val *yaml.Node) {
	target := resolveAlias(val)
	d.locs.Set(path, Location{
		Key:    Position{Line: key.Line, Column: key.Column},
		Value:  Position{Line: val.Line, Column: val.Column},
		Scalar: target != nil && target.Kind == yaml.ScalarNode,
		Null:   target != nil && target.Kind == yaml.ScalarNode && target.ShortTag() == nullTag,
	})
}

func (d *decoder) unknown(key *yaml.Node, path, name string, fields map[string]int) {
	if d.opts.Hint != nil {
		if hint := d.opts.Hint(path, name); hint != "" {
			d.problemf(key, path, "unknown field %q: %s", name, hint)
			return
		}
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	if s := Suggest(name, names); s != "" {
		d.problemf(key, path, "unknown field %q; did you mean %q?", name, s)
		return
	}
	d.problemf(key, path, "unknown field %q (known fields: %s)", name, strings.Join(names, ", "))
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.problemf(n, path, "must be a list, got %s", describe(n))
		return
	}
	// Charge the items before allocating them, so that a huge list costs nothing.
	if !d.count(n, path, len(n.Content)) {
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		child := fmt.Sprintf("%s[%d]", path, i)
		target := resolveAlias(item)
		d.locs.Set(child, Location{
			Key:    Position{Line: item.Line, Column: item.Column},
			Value:  Position{Line: item.Line, Column: item.Column},
			Scalar: target != nil && target.Kind == yaml.ScalarNode,
		})
		d.decode(item, s.Index(i), child)
	}
	v.Set(s)
}

func (d *decoder) string(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.problemf(n, path, "must be a string, got %s", describe(n))
		return
	}
	switch n.ShortTag() {
	case strTag, timestampTag:
		v.SetString(n.Value)
	case intTag, floatTag, boolTag:
		d.problemf(n, path, "must be a string, got %s (quote it: %q)", describe(n), n.Value)
	default:
		d.problemf(n, path, "must be a string, got %s", describe(n))
	}
}

func (d *decoder) bool(n *yaml.Node, v reflect.Value, path string) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != boolTag || n.Decode(&b) != nil {
		d.problemf(n, path, "must be true or false, got %s", describe(n))
		return
	}
	v.SetBool(b)
}

func (d *decoder) int(n *yaml.Node, v reflect.Value, path string) {
	var i int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != intTag {
		d.problemf(n, path, "must be a whole number, got %s", describe(n))
		return
	}
	if err := n.Decode(&i); err != nil || v.OverflowInt(i) {
		d.problemf(n, path, "number %s is out of range", n.Value)
		return
	}
	v.SetInt(i)
}

func (d *decoder) text(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != strTag {
		want := "text"
		if v.Type() == durationType {
			want = "a duration with a unit, such as 90s, 30m or 1h30m"
		}
		d.problemf(n, path, "must be %s, got %s", want, describe(n))
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
		d.problemf(n, path, "%v", err)
	}
}

// describe names a node's kind and value for messages: a list, a mapping, the string "x",
// the number 3, true, null.
func describe(n *yaml.Node) string {
	n = resolveAlias(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case nullTag:
			return "null"
		case boolTag:
			return "the boolean " + n.Value
		case intTag, floatTag:
			return "the number " + n.Value
		case strTag:
			return "the string " + strconv.Quote(truncate(n.Value, 40))
		default:
			return fmt.Sprintf("a %s value", strings.TrimPrefix(n.ShortTag(), "!!"))
		}
	default:
		return "an unexpected YAML node"
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// resolveAlias follows an alias to the node it names. The parser never makes an alias of an
// alias, so one step is enough.
func resolveAlias(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

// fieldsOf maps the json names of t's exported fields to their indexes. Fields without a json
// name or tagged "-" are not decoded.
func fieldsOf(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = i
	}
	return out
}
