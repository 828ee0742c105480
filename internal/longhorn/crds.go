package longhorn

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// crdFS holds the CRD manifests controller-gen generates from the types in this package.
//
//go:embed crds/*.yaml
var crdFS embed.FS

// CRDs returns drplan's own CustomResourceDefinitions of the Longhorn kinds, generated from
// these types with status subresources, sorted by name. e2e tests, the simulator's tests and the
// sandbox install them where no real Longhorn runs. Each call returns fresh objects.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	names, err := fs.Glob(crdFS, "crds/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list embedded longhorn crds: %w", err)
	}
	sort.Strings(names)
	out := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(names))
	for _, name := range names {
		raw, err := crdFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read embedded crd %s: %w", path.Base(name), err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(raw, crd); err != nil {
			return nil, fmt.Errorf("decode embedded crd %s: %w", path.Base(name), err)
		}
		out = append(out, crd)
	}
	return out, nil
}
