package longhornsim

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// longhornPkg is the agent's package of Longhorn types and predicates.
const longhornPkg = "github.com/drplan/drplan/internal/longhorn"

// predicatesElsewhere are the agent's decision helpers outside standby.go: the simulator ports
// what it needs from longhorn-manager instead (gate.go, recurringjob_labels.go).
var predicatesElsewhere = []string{
	"SyncDue", "DegradedActivationAllowed", "NewestCompletedBackup", "BackupNewer", "IsCompleted",
	"IsRecurringJobLabel", "SelectsVolume",
}

// The simulator is what the agent's predicates are checked against, so it must not decide with
// them: no non-test file of this package may use anything internal/longhorn/standby.go declares
// (ActivationGate, StandbyCaughtUp, ActivationSettled, DRView, ...) nor the other predicates
// above. Types, constants, label keys and URL helpers of internal/longhorn are fine.
func TestNoAgentPredicates(t *testing.T) {
	forbidden := map[string]bool{}
	for _, n := range predicatesElsewhere {
		forbidden[n] = true
	}
	fset := token.NewFileSet()
	standby, err := parser.ParseFile(fset, filepath.Join("..", "longhorn", "standby.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range standby.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.IsExported() {
				forbidden[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				if ts, ok := sp.(*ast.TypeSpec); ok && ts.Name.IsExported() {
					forbidden[ts.Name.Name] = true
				}
			}
		}
	}
	for _, must := range []string{"ActivationGate", "StandbyCaughtUp", "ActivationSettled", "DRView"} {
		if !forbidden[must] {
			t.Fatalf("standby.go no longer declares %s: update this test", must)
		}
	}

	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.GoFiles) == 0 {
		t.Fatal("no non-test files found")
	}
	for _, name := range pkg.GoFiles {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		alias := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == longhornPkg {
				alias = "longhorn"
				if imp.Name != nil {
					alias = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || !forbidden[sel.Sel.Name] {
				return true
			}
			// A package-level name used through the import, or a method of the same name on
			// any value (method calls cannot be told apart without type checking).
			if x, isIdent := sel.X.(*ast.Ident); (isIdent && x.Name == alias) || slices.Contains(predicatesElsewhere, sel.Sel.Name) || !isIdent {
				t.Errorf("%s: uses the agent's predicate %s; port longhorn-manager's logic into the simulator instead",
					fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}
