package plans

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/drplan/drplan/plans/strictyaml"
)

// Problem is one thing wrong in a plans tree, printed as FILE:LINE:COL: FIELD: MESSAGE.
type Problem = strictyaml.Problem

// Plan is one DRPlan as loaded: defaulted, with the place it was read from and its problems.
type Plan struct {
	DRPlan
	// File is the file the plan was read from, as the loader named it.
	File string
	// Start is where the plan's document starts in File.
	Start strictyaml.Position
	// Problems are this plan's problems, sorted; a plan with any is invalid.
	Problems []Problem

	locations *strictyaml.Locations
	// manifests are the objects of the plan's apply and traffic paths, by path.
	manifests map[string][]Manifest
}

// Name returns the plan's metadata.name.
func (p *Plan) Name() string { return p.Metadata.Name }

// Valid reports whether the plan has no problem. Only valid plans are ever applied.
func (p *Plan) Valid() bool { return len(p.Problems) == 0 }

// Position returns where field (a path such as spec.volumes[1].pvc) was written in File, or,
// for a field that was not written, where its nearest written parent was.
func (p *Plan) Position(field string) strictyaml.Position { return p.locations.Find(field) }

// Written reports whether File wrote the field at path (spec.volumes[1].replicas) with a value;
// a field that is not written holds its default, if it has one.
func (p *Plan) Written(field string) bool { return p.locations.Written(field) }

func (p *Plan) problem(field, msg string) Problem {
	pos := p.Position(field)
	return Problem{File: p.File, Line: pos.Line, Column: pos.Column, Field: field, Message: msg}
}

// Set is every plan of a plans tree, valid or not, sorted by name then file.
type Set struct {
	Plans []*Plan
	// Unplaced are the problems that belong to no plan: a file that does not parse, a document
	// of another kind. While there are any, plans may be missing from the set.
	Unplaced []Problem
}

// Complete reports whether every document of the tree was read as a plan: only then is a plan
// that is not in the set known to have been removed.
func (s *Set) Complete() bool { return len(s.Unplaced) == 0 }

// Names returns the name of every plan, valid or not.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.Plans))
	for _, p := range s.Plans {
		out = append(out, p.Name())
	}
	return out
}

// Valid returns the plans without any problem, the only ones to apply.
func (s *Set) Valid() []*Plan {
	var out []*Plan
	for _, p := range s.Plans {
		if p.Valid() {
			out = append(out, p)
		}
	}
	return out
}

// Get returns the plan named name, preferring a valid one when several share the name.
func (s *Set) Get(name string) (*Plan, bool) {
	var found *Plan
	for _, p := range s.Plans {
		if p.Name() == name && (found == nil || (!found.Valid() && p.Valid())) {
			found = p
		}
	}
	return found, found != nil
}

// Option tunes loading.
type Option func(*loader)

// WithClusters makes the loader check each plan's primary and secondary against names, the
// clusters of the agent's config.
func WithClusters(names ...string) Option {
	return func(l *loader) { l.clusters = slices.Clone(names) }
}

// LoadFS loads every DRPlan under root in fsys: root may be a directory, walked recursively for
// *.yaml and *.yml files (directories whose name starts with a dot, and Helm charts, are
// skipped), or a single
// file. Problems name files by their path in fsys (a repository-relative path when fsys is a
// Git tree). Documents of other kinds are ignored. It never fails: what cannot be read is a
// problem. The problems returned are every problem of the tree, sorted.
func LoadFS(fsys fs.FS, root string, opts ...Option) (*Set, []Problem) {
	l := newLoader(opts)
	l.addTree(fsys, root, func(name string) string { return name })
	return l.finish()
}

// LoadPaths loads every DRPlan in paths on disk, files or directories, as LoadFS does, and
// checks them together. Problems name files by the path given joined with the file's path
// below it.
func LoadPaths(paths []string, opts ...Option) (*Set, []Problem) {
	l := newLoader(opts)
	for _, p := range paths {
		p = filepath.Clean(p)
		info, err := os.Stat(p)
		switch {
		case err != nil:
			l.problems = append(l.problems, Problem{File: filepath.ToSlash(p), Line: 1, Column: 1,
				Field: strictyaml.RootField, Message: fmt.Sprintf("cannot read: %v", unwrapPathError(err))})
		case info.IsDir():
			dir := p
			l.addTree(os.DirFS(dir), ".", func(name string) string { return filepath.ToSlash(filepath.Join(dir, name)) })
		default:
			l.addTree(os.DirFS(filepath.Dir(p)), filepath.Base(p), func(string) string { return filepath.ToSlash(p) })
		}
	}
	return l.finish()
}

type loader struct {
	clusters []string
	plans    []*Plan
	problems []Problem
}

func newLoader(opts []Option) *loader {
	l := &loader{}
	for _, o := range opts {
		o(l)
	}
	return l
}

func (l *loader) addTree(fsys fs.FS, root string, display func(string) string) {
	root = path.Clean(root)
	err := fs.WalkDir(fsys, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			l.problems = append(l.problems, Problem{File: display(name), Line: 1, Column: 1,
				Field: strictyaml.RootField, Message: fmt.Sprintf("cannot read: %v", unwrapPathError(err))})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if name != root && (strings.HasPrefix(d.Name(), ".") || isHelmChart(fsys, name)) {
				return fs.SkipDir
			}
			return nil
		}
		if name != root && !isYAMLName(name) {
			return nil
		}
		if !d.Type().IsRegular() {
			if info, statErr := fs.Stat(fsys, name); statErr != nil || !info.Mode().IsRegular() {
				l.problems = append(l.problems, Problem{File: display(name), Line: 1, Column: 1,
					Field: strictyaml.RootField, Message: "not a regular file"})
				return nil //nolint:nilerr // reported as a problem; the walk goes on

			}
		}
		l.addFile(fsys, name, display)
		return nil
	})
	if err != nil {
		l.problems = append(l.problems, Problem{File: display(root), Line: 1, Column: 1,
			Field: strictyaml.RootField, Message: fmt.Sprintf("cannot read: %v", unwrapPathError(err))})
	}
}

// isHelmChart reports whether dir is a Helm chart (it holds a Chart.yaml): its templates are
// not YAML until rendered, and never plans.
func isHelmChart(fsys fs.FS, dir string) bool {
	_, err := fs.Stat(fsys, path.Join(dir, "Chart.yaml"))
	return err == nil
}

func isYAMLName(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

func (l *loader) addFile(fsys fs.FS, name string, display func(string) string) {
	data, problem := strictyaml.ReadFile(fsys, name)
	if problem != nil {
		problem.File = display(name)
		l.problems = append(l.problems, *problem)
		return
	}
	docs, problems := strictyaml.Parse(display(name), data)
	l.problems = append(l.problems, problems...)
	for _, doc := range docs {
		if p := l.kindProblem(doc); p != nil {
			l.problems = append(l.problems, *p)
			continue
		}
		if doc.Kind == Kind {
			p := l.decode(doc)
			p.readManifests(fsys, name, display)
			l.plans = append(l.plans, p)
		}
	}
}

// otherKinds are drplan's kinds that are not plans, ignored by the loader.
var otherKinds = []string{"AgentConfig"}

// kindProblem reports a document that looks meant for drplan but is no DRPlan it can read: a
// DRPlan of another apiVersion, or an unknown kind in drplan's group.
func (l *loader) kindProblem(doc strictyaml.Document) *Problem {
	group, _, _ := strings.Cut(doc.APIVersion, "/")
	switch {
	case doc.Kind == Kind && doc.APIVersion != APIVersion:
		return docProblem(doc, "apiVersion", fmt.Sprintf("unsupported apiVersion %q for kind %s: drplan reads %s", doc.APIVersion, Kind, APIVersion))
	case group == Group && doc.Kind != Kind && !slices.Contains(otherKinds, doc.Kind):
		known := append([]string{Kind}, otherKinds...)
		if doc.Kind == "" {
			return docProblem(doc, "kind", fmt.Sprintf("required: the kind of this %q document (%s)", doc.APIVersion, strings.Join(known, " or ")))
		}
		msg := fmt.Sprintf("unknown kind %q in %s (kinds: %s)", doc.Kind, Group, strings.Join(known, ", "))
		if s := strictyaml.Suggest(doc.Kind, known); s != "" {
			msg = fmt.Sprintf("unknown kind %q in %s; did you mean %q?", doc.Kind, Group, s)
		}
		return docProblem(doc, "kind", msg)
	}
	return nil
}

func docProblem(doc strictyaml.Document, field, msg string) *Problem {
	pos := doc.Start()
	if _, v, ok := doc.TopLevel(field); ok {
		pos = strictyaml.Position{Line: v.Line, Column: v.Column}
	}
	return &Problem{File: doc.File, Line: pos.Line, Column: pos.Column, Field: field, Message: msg}
}

// decode turns one DRPlan document into a defaulted, validated Plan.
func (l *loader) decode(doc strictyaml.Document) *Plan {
	p := &Plan{File: doc.File, Start: doc.Start()}
	locs, problems := strictyaml.Decode(doc, &p.DRPlan, strictyaml.Options{})
	p.locations = locs
	p.Problems = problems
	setDefaults(&p.DRPlan, locs.Written)
	errs := validatePlan(&p.DRPlan, locs.Written)
	if l.clusters != nil {
		errs = append(errs, validateKnownClusters(&p.DRPlan, l.clusters)...)
	}
	p.Problems = append(p.Problems, strictyaml.Place(p.File, locs, errs, problems)...)
	return p
}

// finish runs the checks across plans and sorts everything.
func (l *loader) finish() (*Set, []Problem) {
	checkConflicts(l.plans)
	slices.SortStableFunc(l.plans, func(a, b *Plan) int {
		return cmp.Or(cmp.Compare(a.Name(), b.Name()), cmp.Compare(a.File, b.File), cmp.Compare(a.Start.Line, b.Start.Line))
	})
	unplaced := strictyaml.Sorted(slices.Clone(l.problems))
	all := slices.Clone(unplaced)
	for _, p := range l.plans {
		p.Problems = strictyaml.Sorted(p.Problems)
		all = append(all, p.Problems...)
	}
	return &Set{Plans: l.plans, Unplaced: unplaced}, strictyaml.Sorted(all)
}

func unwrapPathError(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}
