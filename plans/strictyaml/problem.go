package strictyaml

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// RootField is the field path of a problem about a whole file or document rather than a field.
const RootField = "."

// Problem is one thing wrong in a file, at a position, printed as FILE:LINE:COL: FIELD: MESSAGE.
type Problem struct {
	// File is the path of the file, as the loader was given it (slash-separated).
	File string `json:"file"`
	// Line is the 1-based line of the problem.
	Line int `json:"line"`
	// Column is the 1-based column of the problem, counted in characters.
	Column int `json:"column"`
	// Field is the field path, such as spec.volumes[0].name, or RootField for the whole document.
	Field string `json:"field"`
	// Message says what is wrong, in lower case, without a trailing period.
	Message string `json:"message"`
}

// String formats the problem as FILE:LINE:COL: FIELD: MESSAGE, on one line whatever the file
// held: line breaks in any part are written as \n and \r.
func (p Problem) String() string {
	field := p.Field
	if field == "" {
		field = RootField
	}
	return oneLine.Replace(fmt.Sprintf("%s:%d:%d: %s: %s", p.File, p.Line, p.Column, field, p.Message))
}

var oneLine = strings.NewReplacer("\n", `\n`, "\r", `\r`)

// Compare orders problems by file, line, column, field and message.
func Compare(a, b Problem) int {
	return cmp.Or(
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Column, b.Column),
		cmp.Compare(a.Field, b.Field),
		cmp.Compare(a.Message, b.Message),
	)
}

// Sorted returns problems in Compare order with exact duplicates removed.
func Sorted(problems []Problem) []Problem {
	out := slices.Clone(problems)
	slices.SortFunc(out, Compare)
	return slices.Compact(out)
}
