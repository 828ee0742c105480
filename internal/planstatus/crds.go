package planstatus

import (
	_ "embed"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// crdYAML is the DRPlanStatus CRD controller-gen generates from these types.
//
//go:embed crds/drplan.io_drplanstatuses.yaml
var crdYAML []byte

// CRDName is the DRPlanStatus CRD's name.
const CRDName = "drplanstatuses.drplan.io"

// CRDManifest is the CRD as YAML, for the install manifests.
func CRDManifest() []byte { return crdYAML }

// CRD returns the DRPlanStatus CRD, a fresh object each call: the lab and the sandbox install
// it as the install does.
func CRD() (*apiextensionsv1.CustomResourceDefinition, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(crdYAML, crd); err != nil {
		return nil, fmt.Errorf("decode the embedded %s CRD: %w", CRDName, err)
	}
	return crd, nil
}
