package plans

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/drplan/drplan/plans/strictyaml"
)

// Manifest is one Kubernetes object of a plan's apply or traffic path, as read from the plans
// repository.
type Manifest struct {
	// File and Line are where the object's document starts.
	File string
	Line int
	// Object is the object as written.
	Object *unstructured.Unstructured
}

// String names the object and where it was written.
func (m Manifest) String() string {
	return fmt.Sprintf("%s %s (%s:%d)", m.Object.GetKind(), objectName(m.Object), m.File, m.Line)
}

func objectName(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetName()
	}
	return u.GetNamespace() + "/" + u.GetName()
}

// ManifestsOf returns the manifests of an apply or traffic path of the plan, in the order
// they were written (files in lexical order).
func (p *Plan) ManifestsOf(a *Apply) []Manifest {
	if a == nil {
		return nil
	}
	return p.manifests[a.Path]
}

// readManifests reads every apply and traffic path of p from fsys, where planFile is the plan's
// file; display names a file of fsys in problems. Problems are filed under the field of the path.
func (p *Plan) readManifests(fsys fs.FS, planFile string, display func(string) string) {
	type ref struct {
		field string
		apply *Apply
	}
	var refs []ref
	for i, w := range p.Spec.Waves {
		if w.Apply != nil {
			refs = append(refs, ref{fmt.Sprintf("spec.waves[%d].apply.path", i), w.Apply})
		}
	}
	if p.Spec.Traffic != nil {
		refs = append(refs, ref{"spec.traffic.path", p.Spec.Traffic})
	}
	for _, r := range refs {
		if r.apply.Path == "" || path.IsAbs(r.apply.Path) {
			continue // validation said so
		}
		if _, done := p.manifests[r.apply.Path]; done {
			continue
		}
		ms, msg := loadManifests(fsys, path.Join(path.Dir(planFile), r.apply.Path), display)
		if msg != "" {
			p.Problems = append(p.Problems, p.problem(r.field, msg))
			continue
		}
		if p.manifests == nil {
			p.manifests = map[string][]Manifest{}
		}
		p.manifests[r.apply.Path] = ms
	}
}

// loadManifests reads the Kubernetes objects of a file or a directory (recursively) of fsys. It
// returns a message naming the file and line of the first problem.
func loadManifests(fsys fs.FS, root string, display func(string) string) ([]Manifest, string) {
	if root == ".." || strings.HasPrefix(root, "../") {
		return nil, fmt.Sprintf("%s is outside the plans repository", root)
	}
	var files []string
	err := fs.WalkDir(fsys, root, func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && name != root && strings.HasPrefix(d.Name(), "."):
			return fs.SkipDir
		case !d.IsDir() && (name == root || isYAMLName(name)):
			files = append(files, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Sprintf("cannot read %s: %v", display(root), unwrapPathError(err))
	}
	if len(files) == 0 {
		return nil, fmt.Sprintf("%s holds no YAML file", display(root))
	}
	slices.Sort(files)
	var out []Manifest
	seen := map[string]string{}
	for _, name := range files {
		data, problem := strictyaml.ReadFile(fsys, name)
		if problem != nil {
			return nil, fmt.Sprintf("%s: %s", display(name), problem.Message)
		}
		docs, problems := strictyaml.Parse(display(name), data)
		if len(problems) > 0 {
			return nil, problems[0].String()
		}
		for _, doc := range docs {
			m, msg := manifestOf(doc)
			if msg != "" {
				return nil, fmt.Sprintf("%s:%d: %s", doc.File, doc.Start().Line, msg)
			}
			key := m.Object.GetAPIVersion() + " " + m.Object.GetKind() + " " + objectName(m.Object)
			if first, dup := seen[key]; dup {
				return nil, fmt.Sprintf("%s:%d: %s %s is already written at %s", m.File, m.Line, m.Object.GetKind(), objectName(m.Object), first)
			}
			seen[key] = fmt.Sprintf("%s:%d", m.File, m.Line)
			out = append(out, m)
		}
	}
	return out, ""
}

// manifestOf turns one document into a Manifest, or says why it is no Kubernetes object drplan
// applies.
func manifestOf(doc strictyaml.Document) (Manifest, string) {
	var raw map[string]any
	if err := doc.Node.Decode(&raw); err != nil {
		return Manifest{}, fmt.Sprintf("not a Kubernetes object: %v", err)
	}
	for _, field := range []string{"apiVersion", "kind"} {
		if s, _ := raw[field].(string); s == "" {
			return Manifest{}, field + ": required"
		}
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return Manifest{}, fmt.Sprintf("not a Kubernetes object: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return Manifest{}, fmt.Sprintf("not a Kubernetes object: %v", err)
	}
	group, _, _ := strings.Cut(u.GetAPIVersion(), "/")
	switch {
	case group == Group:
		return Manifest{}, fmt.Sprintf("a %s is drplan's own document, not an object to apply", u.GetKind())
	case u.GetName() == "":
		return Manifest{}, "metadata.name: required (generateName is not applied)"
	}
	if msgs := validation.IsDNS1123Subdomain(u.GetName()); len(msgs) > 0 && !strings.Contains(u.GetName(), ":") {
		return Manifest{}, fmt.Sprintf("metadata.name: invalid name %q: %s", u.GetName(), strings.Join(msgs, "; "))
	}
	return Manifest{File: doc.File, Line: doc.Start().Line, Object: u}, ""
}

// SetManifests sets the manifests of an apply or traffic path, for plans built in Go (tests,
// tools); the loader reads them from the plans repository.
func (p *Plan) SetManifests(a *Apply, ms []Manifest) {
	if p.manifests == nil {
		p.manifests = map[string][]Manifest{}
	}
	p.manifests[a.Path] = ms
}

// Clone returns a copy of p whose manifests can be replaced (SetManifests) without changing
// p's. The spec is copied shallowly: a caller that changes its slices copies them first.
func (p *Plan) Clone() *Plan {
	c := *p
	c.manifests = maps.Clone(p.manifests)
	return &c
}
