package strictyaml

import "strings"

// Position is a 1-based line and column (in characters) in a file.
type Position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Location is where one field was written: its key and its value.
type Location struct {
	// Key is the position of the field's key, or of the list item for an element of a list.
	Key Position
	// Value is the position of the field's value.
	Value Position
	// Scalar is true when the value is a single value rather than a mapping or a list.
	Scalar bool
	// Null is true when the value is null (null, ~ or nothing after the colon): the field is
	// placed, but counts as left out.
	Null bool
}

// Locations records where each field of one document was written, by field path
// (spec.volumes[0].name), so that problems found after decoding can point at the text.
type Locations struct {
	start  Position
	byPath map[string]Location
}

// NewLocations returns an empty index for a document starting at start.
func NewLocations(start Position) *Locations {
	return &Locations{start: start, byPath: map[string]Location{}}
}

// Set records where the field at path was written.
func (l *Locations) Set(path string, loc Location) { l.byPath[path] = loc }

// Get returns where the field at path was written, if it was.
func (l *Locations) Get(path string) (Location, bool) {
	loc, ok := l.byPath[path]
	return loc, ok
}

// Written reports whether the field at path was written with a value. A field left out, or
// written as null, was not: it takes its default.
func (l *Locations) Written(path string) bool {
	loc, ok := l.byPath[path]
	return ok && !loc.Null
}

// Start returns the position where the document starts.
func (l *Locations) Start() Position { return l.start }

// Find returns the best position for a problem about path: the value of a scalar field that
// was written, the key of a mapping or list that was written, and for a field that was not
// written (a missing or defaulted one) the key of its nearest written ancestor, or the start of
// the document.
func (l *Locations) Find(path string) Position {
	if loc, ok := l.byPath[path]; ok {
		if loc.Scalar {
			return loc.Value
		}
		return loc.Key
	}
	for path != "" && path != RootField {
		path = Parent(path)
		if loc, ok := l.byPath[path]; ok {
			return loc.Key
		}
	}
	return l.start
}

// Parent returns the path of the field that holds path: spec.volumes for spec.volumes[0],
// spec for spec.volumes, and "" for a top-level field.
func Parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// Join returns the path of field name inside path.
func Join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
