package kubeletstandin

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/drplan/drplan/internal/testenv"
)

// Cluster is an API server whose one node is a kubelet stand-in: for the tests of code that
// execs in pods or runs them.
type Cluster struct {
	API     *testenv.Cluster
	Kubelet *Kubelet
}

// StartCluster starts, under dir, a CA, an API server named name that trusts it
// (--kubelet-certificate-authority), and a stand-in for its node; opts' Config, CA and WorkDir
// (dir/pods) are filled in. On error everything started is stopped.
func StartCluster(name, dir string, tools testenv.Tools, opts Options) (*Cluster, error) {
	ca, err := NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		return nil, err
	}
	api, err := testenv.StartCluster(name, dir, tools, testenv.ClusterOptions{KubeletCA: ca.CertFile})
	if err != nil {
		return nil, err
	}
	opts.Config, opts.CA, opts.WorkDir = api.Config, ca, filepath.Join(dir, "pods")
	k, err := Start(context.Background(), opts)
	if err != nil {
		return nil, errors.Join(err, api.Stop())
	}
	return &Cluster{API: api, Kubelet: k}, nil
}

// Stop stops the stand-in, then the API server.
func (c *Cluster) Stop() error {
	if c == nil {
		return nil
	}
	return errors.Join(c.Kubelet.Stop(), c.API.Stop())
}
