// Command gen writes the JSON Schemas of drplan's kinds and the field references of
// docs/plans.md from the Go types. It runs through go generate ./schema.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/drplan/drplan/schema"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "schema/gen: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := schema.ModuleRoot()
	if err != nil {
		return err
	}
	files, err := schema.Files()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), files[name], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
