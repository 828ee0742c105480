package schema

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/drplan/drplan/plans/strictyaml"
)

// DocsFile is the page, relative to the module root, that holds the generated field references
// between markers (see Reference).
const DocsFile = "docs/plans.md"

// Reference returns the Markdown table of every field of k: path, type, whether it is required,
// default and description.
func Reference(k Kind) (string, error) {
	s, err := Reflect(k)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| Field | Type | Required | Default | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
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
			required := ""
			if slices.Contains(s.Required, name) {
				required = "yes"
			}
			desc, def := splitDefault(p.Description)
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", child, cell(typeLabel(p)), required, cell(def), cell(desc))
			visit(child, p)
		}
	}
	visit("", s)
	return b.String(), nil
}

// splitDefault separates a description from its "Default: ..." sentence, which the reference
// shows in a column of its own.
func splitDefault(description string) (desc, def string) {
	before, _, ok := strings.Cut(description, "Default: ")
	if !ok {
		return description, ""
	}
	d, _ := DefaultText(description)
	return strings.TrimSpace(before), strings.TrimSuffix(d, ".")
}

func typeLabel(s *jsonschema.Schema) string {
	switch s.Type {
	case "string":
		switch {
		case s.Pattern == strictyaml.DurationPattern:
			return "duration"
		case s.Pattern == strictyaml.PositiveDurationPattern:
			return "duration, more than 0"
		case len(s.Enum) > 0:
			var values []string
			for _, v := range s.Enum {
				values = append(values, fmt.Sprintf("`%v`", v))
			}
			return "string, one of " + strings.Join(values, ", ")
		case s.Pattern == labelPattern:
			return "name (DNS-1123 label" + maxLength(s) + ")"
		case s.Pattern == subdomainPattern:
			return "name (DNS-1123 subdomain" + maxLength(s) + ")"
		}
		return "string"
	case "integer":
		switch {
		case s.Minimum != "" && s.Maximum != "":
			return fmt.Sprintf("integer, %s to %s", s.Minimum, s.Maximum)
		case s.Minimum != "":
			return fmt.Sprintf("integer, at least %s", s.Minimum)
		}
		return "integer"
	case "array":
		switch {
		case s.Items == nil:
			return "list"
		case s.Items.Type == "object":
			return "list of objects"
		case s.Items.Type == "string" && len(s.Items.Enum) > 0:
			return "list, each " + strings.TrimPrefix(typeLabel(s.Items), "string, ")
		default:
			return "list of " + typeLabel(s.Items) + "s"
		}
	default:
		return s.Type
	}
}

// The patterns of names in the types' jsonschema tags.
const (
	labelPattern     = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
	subdomainPattern = "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
)

func maxLength(s *jsonschema.Schema) string {
	if s.MaxLength == nil {
		return ""
	}
	return fmt.Sprintf(", at most %d characters", *s.MaxLength)
}

// cell escapes text for a Markdown table cell.
var cell = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace

func markers(k Kind) (begin, end string) {
	return fmt.Sprintf("<!-- BEGIN GENERATED: %s fields (go generate ./schema) -->", k.Name),
		fmt.Sprintf("<!-- END GENERATED: %s fields -->", k.Name)
}

// UpdateDocs replaces the reference of every kind in doc, between its markers, with the one the
// types give.
func UpdateDocs(doc []byte) ([]byte, error) {
	for _, k := range Kinds {
		begin, end := markers(k)
		i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
		if i < 0 || j < i {
			return nil, fmt.Errorf("update %s: markers %q and %q not found in order", DocsFile, begin, end)
		}
		ref, err := Reference(k)
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		out.Write(doc[:i+len(begin)])
		out.WriteString("\n")
		out.WriteString(ref)
		out.Write(doc[j:])
		doc = out.Bytes()
	}
	return doc, nil
}

// Files returns every generated file, by path relative to the module root: the JSON Schemas
// and the docs page with its references brought up to date.
func Files() (map[string][]byte, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, k := range Kinds {
		b, err := Generate(k)
		if err != nil {
			return nil, err
		}
		out["schema/"+k.File] = b
	}
	doc, err := os.ReadFile(filepath.Join(root, DocsFile))
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", DocsFile, err)
	}
	if out[DocsFile], err = UpdateDocs(doc); err != nil {
		return nil, err
	}
	return out, nil
}

// ModuleRoot returns the directory of the module's go.mod, above the working directory.
func ModuleRoot() (string, error) { return moduleRoot() }
