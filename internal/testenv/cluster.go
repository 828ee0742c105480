package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ClusterOptions shape one API server.
type ClusterOptions struct {
	// CRDs are installed before Start returns.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// CRDDirectoryPaths are read for CRD manifests to install.
	CRDDirectoryPaths []string
	// Webhooks are installed with envtest's local serving certificates; see envtest.WebhookInstallOptions.
	Webhooks envtest.WebhookInstallOptions
	// KubeletCA is the PEM file of the CA the API server trusts for kubelets' serving
	// certificates (--kubelet-certificate-authority), for pods/exec, attach, port-forward and
	// logs through a kubelet stand-in (internal/kubeletstandin.NewCA). Without it the API server
	// trusts the system's roots, which sign no kubelet here.
	KubeletCA string
}

// Cluster is one running kube-apiserver with its own etcd.
type Cluster struct {
	// Name is the cluster's name and its kubeconfig context ("east", "west").
	Name string
	// Config is an admin REST config for the cluster.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file whose current context is Name.
	Kubeconfig string
	// Webhooks holds the serving options when webhooks were installed.
	Webhooks *envtest.WebhookInstallOptions

	env *envtest.Environment
}

// StartCluster starts a kube-apiserver and etcd named name, writing its kubeconfig under dir.
func StartCluster(name, dir string, tools Tools, opts ClusterOptions) (*Cluster, error) {
	env := &envtest.Environment{
		CRDs:                     opts.CRDs,
		CRDDirectoryPaths:        opts.CRDDirectoryPaths,
		ErrorIfCRDPathMissing:    true,
		WebhookInstallOptions:    opts.Webhooks,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  90 * time.Second,
	}
	// Data and certificates live under dir: nothing strays outside it, and a process left behind
	// by a killed parent is found by its command line.
	api := env.ControlPlane.GetAPIServer()
	api.Path = tools.KubeAPIServer
	api.CertDir = filepath.Join(dir, name+"-apiserver")
	// On SIGTERM, end the watches at once rather than wait a minute for them to go idle.
	api.Configure().Set("shutdown-watch-termination-grace-period", "2s")
	// A kubelet is reached at its Node's InternalIP, the only address a stand-in reports.
	api.Configure().Set("kubelet-preferred-address-types", "InternalIP")
	if opts.KubeletCA != "" {
		api.Configure().Set("kubelet-certificate-authority", opts.KubeletCA)
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Path: tools.Etcd, DataDir: filepath.Join(dir, name+"-etcd")}
	for _, d := range []string{api.CertDir, env.ControlPlane.Etcd.DataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("start cluster %s: %w", name, err)
		}
	}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("start cluster %s: %w", name, err)
	}
	c := &Cluster{Name: name, Config: cfg, env: env}
	if len(opts.Webhooks.ValidatingWebhooks)+len(opts.Webhooks.MutatingWebhooks) > 0 {
		c.Webhooks = &env.WebhookInstallOptions
	}
	c.Kubeconfig = filepath.Join(dir, name+".kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, name, env.KubeConfig); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// Stop stops the API server and etcd. Stopping again does nothing.
func (c *Cluster) Stop() error {
	if c == nil || c.env == nil {
		return nil
	}
	env := c.env
	c.env = nil
	if err := env.Stop(); err != nil {
		return fmt.Errorf("stop cluster %s: %w", c.Name, err)
	}
	return nil
}

// AddUser makes the API server authenticate a user with a client certificate and writes a
// kubeconfig of that user, its context named like the cluster, to path. The user may do nothing
// until RBAC grants it something.
func (c *Cluster) AddUser(name string, groups []string, path string) error {
	if c == nil || c.env == nil {
		return fmt.Errorf("add user %s to cluster: not running", name)
	}
	u, err := c.env.ControlPlane.AddUser(envtest.User{Name: name, Groups: groups}, c.Config)
	if err != nil {
		return fmt.Errorf("add user %s to cluster %s: %w", name, c.Name, err)
	}
	raw, err := u.KubeConfig()
	if err != nil {
		return fmt.Errorf("add user %s to cluster %s: kubeconfig: %w", name, c.Name, err)
	}
	return writeKubeconfig(path, c.Name, raw)
}

// writeKubeconfig renames envtest's kubeconfig entries to name so that several clusters can be
// merged into one KUBECONFIG and addressed by context.
func writeKubeconfig(path, name string, raw []byte) error {
	in, err := clientcmd.Load(raw)
	if err != nil {
		return fmt.Errorf("parse kubeconfig of cluster %s: %w", name, err)
	}
	cur := in.Contexts[in.CurrentContext]
	if cur == nil {
		return fmt.Errorf("kubeconfig of cluster %s has no current context", name)
	}
	out := clientcmdapi.NewConfig()
	out.Clusters[name] = in.Clusters[cur.Cluster]
	out.AuthInfos[name] = in.AuthInfos[cur.AuthInfo]
	out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "default"}
	out.CurrentContext = name
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write kubeconfig of cluster %s: %w", name, err)
	}
	if err := clientcmd.WriteToFile(*out, path); err != nil {
		return fmt.Errorf("write kubeconfig of cluster %s: %w", name, err)
	}
	return nil
}
