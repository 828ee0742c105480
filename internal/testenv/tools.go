package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Versions of the real components, kept in step with the Makefile (make tools).
const (
	KubeVersion     = "v1.34.4"
	GiteaVersion    = "v1.26.0"
	PromtoolVersion = "v0.316.0" // the Go module github.com/prometheus/prometheus
)

// Environment variables that point at the built components. The Makefile exports them.
const (
	EnvKubeAssets = "DRPLAN_KUBE_ASSETS" // directory holding kube-apiserver
	EnvEtcd       = "DRPLAN_ETCD"        // path of the etcd binary
	EnvGiteaDir   = "DRPLAN_GITEA_DIR"   // directory holding gitea and static/
	EnvPromtool   = "DRPLAN_PROMTOOL"    // path of the promtool binary
)

// Tools locates the component binaries.
type Tools struct {
	KubeAPIServer string
	Etcd          string
	Gitea         string
	// GiteaStatic is Gitea's STATIC_ROOT_PATH: a copy of the module's options/ and templates/.
	GiteaStatic string
}

// ErrToolsMissing means a component has not been built; `make tools` builds them all.
var ErrToolsMissing = errors.New("test components not built: run `make tools` (or `make test`, which builds them)")

// FindTools resolves the binaries from the environment, falling back to the module's bin/.
func FindTools() (Tools, error) {
	root := moduleRoot()
	kubeDir := envOr(EnvKubeAssets, filepath.Join(root, "bin", "k8s-"+KubeVersion))
	giteaDir := envOr(EnvGiteaDir, filepath.Join(root, "bin", "gitea-"+GiteaVersion))
	etcd := os.Getenv(EnvEtcd)
	if etcd == "" {
		if p, err := exec.LookPath("etcd"); err == nil {
			etcd = p
		}
	}
	t := Tools{
		KubeAPIServer: filepath.Join(kubeDir, "kube-apiserver"),
		Etcd:          etcd,
		Gitea:         filepath.Join(giteaDir, "gitea"),
		GiteaStatic:   filepath.Join(giteaDir, "static"),
	}
	for _, p := range []string{t.KubeAPIServer, t.Etcd, t.Gitea, t.GiteaStatic} {
		if p == "" {
			return t, fmt.Errorf("etcd not found on PATH or in %s: %w", EnvEtcd, ErrToolsMissing)
		}
		if _, err := os.Stat(p); err != nil {
			return t, fmt.Errorf("%s: %w", p, ErrToolsMissing)
		}
	}
	return t, nil
}

// Promtool is the path of the promtool binary `make tools` builds, which tests the alert rules:
// from the environment, falling back to the module's bin/.
func Promtool() (string, error) {
	p := envOr(EnvPromtool, filepath.Join(moduleRoot(), "bin", "promtool-"+PromtoolVersion, "promtool"))
	if _, err := os.Stat(p); err != nil {
		return p, fmt.Errorf("promtool: %s: %w", p, ErrToolsMissing)
	}
	return p, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// moduleRoot walks up from the working directory to the directory holding go.mod.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
