package testenv

import (
	"fmt"
	"os"
	"path/filepath"
)

// Versions of the tools the install's tests run, kept in step with the Makefile.
const (
	HelmVersion               = "v3.22.0"
	PrometheusOperatorVersion = "v0.85.0"
)

// Environment variables that point at the install's tools. The Makefile exports them.
const (
	EnvHelm           = "DRPLAN_HELM"            // path of the helm binary
	EnvMonitoringCRDs = "DRPLAN_MONITORING_CRDS" // directory of prometheus-operator's ServiceMonitor and PrometheusRule CRDs
)

// Helm is the path of the helm binary `make tools` builds.
func Helm() (string, error) {
	return existing(envOr(EnvHelm, filepath.Join(moduleRoot(), "bin", "helm-"+HelmVersion, "helm")))
}

// MonitoringCRDs is the directory of the prometheus-operator CRDs `make tools` fetches, for
// installing the ServiceMonitor and PrometheusRule the install holds.
func MonitoringCRDs() (string, error) {
	return existing(envOr(EnvMonitoringCRDs, filepath.Join(moduleRoot(), "bin", "prometheus-operator-"+PrometheusOperatorVersion, "crds")))
}

func existing(path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s: %w", path, ErrToolsMissing)
	}
	return path, nil
}
