package strictyaml

import (
	"fmt"
	"strings"
)

// FieldError is a problem found after decoding, by validation, at a field path; Place gives it
// a position.
type FieldError struct {
	// Path is the field path, such as spec.volumes[0].name.
	Path string
	// Message says what is wrong, in lower case.
	Message string
}

// Errorf returns a FieldError at path.
func Errorf(path, format string, args ...any) FieldError {
	return FieldError{Path: path, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors collects the field errors a validator finds, in the order it finds them. A
// validator embeds it in its own type to add the checks of its domain (a name, a secret).
type FieldErrors []FieldError

// Add appends a FieldError at path, its message formatted as by fmt.Sprintf.
func (e *FieldErrors) Add(path, format string, args ...any) {
	*e = append(*e, Errorf(path, format, args...))
}

// Place turns field errors found in a document of file into problems at the positions locs
// recorded. Errors about a field the decoder already reported (in decoded), or about a field
// inside it, are dropped: such a field kept its zero value, and saying it is also missing or
// invalid would be noise.
func Place(file string, locs *Locations, errs []FieldError, decoded []Problem) []Problem {
	var out []Problem
	for _, e := range errs {
		if coveredBy(e.Path, decoded) {
			continue
		}
		pos := locs.Find(e.Path)
		out = append(out, Problem{File: file, Line: pos.Line, Column: pos.Column, Field: e.Path, Message: e.Message})
	}
	return out
}

func coveredBy(field string, problems []Problem) bool {
	for _, p := range problems {
		if p.Field == field || strings.HasPrefix(field, p.Field+".") || strings.HasPrefix(field, p.Field+"[") {
			return true
		}
	}
	return false
}
