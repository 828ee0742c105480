package sandbox

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/drplan/drplan/internal/testenv"
)

// Tools says where the components `make tools` builds are: kube-apiserver, etcd and Gitea. An
// empty field is taken from the environment (DRPLAN_KUBE_ASSETS, DRPLAN_GITEA_DIR,
// DRPLAN_ETCD), then from beside the drplan binary (a checkout's bin/ holds bin/drplan,
// bin/k8s-<version> and bin/gitea-<version>), then from the working directory's checkout; etcd
// last from PATH. So a checkout's bin/drplan runs the sandbox from any directory.
type Tools struct {
	// KubeAssets is the directory holding kube-apiserver.
	KubeAssets string
	// GiteaDir is the directory holding gitea and its static/ files.
	GiteaDir string
	// Etcd is the etcd binary.
	Etcd string
}

// BindFlags binds the options to fs.
func (t *Tools) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&t.KubeAssets, "kube-assets", "", "directory holding kube-apiserver (default $"+testenv.EnvKubeAssets+", else bin/k8s-"+testenv.KubeVersion+" beside drplan or in the working directory's checkout)")
	fs.StringVar(&t.GiteaDir, "gitea-dir", "", "directory holding gitea and its static files (default $"+testenv.EnvGiteaDir+", else bin/gitea-"+testenv.GiteaVersion+" beside drplan or in the working directory's checkout)")
	fs.StringVar(&t.Etcd, "etcd", "", "the etcd binary (default $"+testenv.EnvEtcd+", else etcd on PATH)")
}

// use resolves the components and exports them in the environment variables internal/testenv
// reads (the lab starts them from there). It fails with one line naming what is missing and
// `make tools` when a component is not built.
func (t Tools) use() error {
	beside := ""
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			beside = filepath.Dir(exe)
		}
	}
	for _, e := range []struct{ env, flag, besideDrplan string }{
		{testenv.EnvKubeAssets, t.KubeAssets, filepath.Join(beside, "k8s-"+testenv.KubeVersion)},
		{testenv.EnvGiteaDir, t.GiteaDir, filepath.Join(beside, "gitea-"+testenv.GiteaVersion)},
		{testenv.EnvEtcd, t.Etcd, ""},
	} {
		v := e.flag
		if v == "" {
			v = os.Getenv(e.env)
		}
		if v == "" && beside != "" && e.besideDrplan != "" && exists(e.besideDrplan) {
			v = e.besideDrplan
		}
		if v == "" {
			continue // testenv's own fallback: the working directory's checkout, PATH
		}
		abs, err := filepath.Abs(v)
		if err != nil {
			return fmt.Errorf("sandbox: %s: %w", v, err)
		}
		if err := os.Setenv(e.env, abs); err != nil {
			return fmt.Errorf("sandbox: set %s: %w", e.env, err)
		}
	}
	found, err := testenv.FindTools()
	if err == nil {
		return nil
	}
	missing := err.Error()
	for _, p := range []string{found.KubeAPIServer, found.Etcd, found.Gitea, found.GiteaStatic} {
		if p == "" {
			missing = "etcd (not in --etcd, $" + testenv.EnvEtcd + " nor on PATH)"
			break
		}
		if !exists(p) {
			missing = p
			break
		}
	}
	return fmt.Errorf("sandbox: %s is missing: the components are not built; run `make tools` in drplan's checkout, "+
		"then start the sandbox with that checkout's bin/drplan, or point --kube-assets and --gitea-dir "+
		"($%s, $%s) at its bin/k8s-%s and bin/gitea-%s", missing, testenv.EnvKubeAssets, testenv.EnvGiteaDir, testenv.KubeVersion, testenv.GiteaVersion)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return p != "" && err == nil
}
