package schema

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// modulePath is the import path of the module whose source holds the types.
const modulePath = "github.com/drplan/drplan"

// comments maps "importpath.Type" and "importpath.Type.Field" to doc comments, read from the
// source of the packages of the given types.
type comments map[string]string

// readComments parses the Go source of the packages that declare types, found below the module
// root (the nearest directory above the working directory holding go.mod).
func readComments(types ...reflect.Type) (comments, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	out := comments{}
	seen := map[string]bool{}
	for _, t := range types {
		pkg := t.PkgPath()
		if seen[pkg] {
			continue
		}
		seen[pkg] = true
		if pkg != modulePath && !strings.HasPrefix(pkg, modulePath+"/") {
			return nil, fmt.Errorf("read comments of %s: not in module %s", pkg, modulePath)
		}
		dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkg, modulePath), "/")))
		if err := out.addPackage(pkg, dir); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c comments) addPackage(pkg, dir string) error {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read comments of %s: %w", pkg, err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return fmt.Errorf("read comments of %s: %w", pkg, err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				c[pkg+"."+ts.Name.Name] = text(doc)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, field := range st.Fields.List {
					for _, n := range field.Names {
						c[pkg+"."+ts.Name.Name+"."+n.Name] = text(field.Doc)
					}
				}
			}
		}
	}
	return nil
}

// lookup returns the comment of type t, or of its field when field is set.
func (c comments) lookup(t reflect.Type, field string) string {
	key := t.PkgPath() + "." + t.Name()
	if field != "" {
		key += "." + field
	}
	return c[key]
}

// text joins a comment's lines into one paragraph.
func text(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("find module root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
