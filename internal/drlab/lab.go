package drlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/kubeletstandin"
	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
	"github.com/drplan/drplan/internal/planstatus"
	"github.com/drplan/drplan/internal/testenv"
)

// Options shape a lab.
type Options struct {
	// Dir holds every component's state. Required.
	Dir string
	// Clusters are the clusters to start; "east" and "west" when empty.
	Clusters []string
	// PollInterval is each cluster's BackupTarget poll interval. Default 5m, Longhorn's.
	PollInterval time.Duration
	// BlockSize is the simulated backup block size. Default 64 KiB (small test data).
	BlockSize int64
	// RestoreRate is the simulated restore rate in bytes per second; 0 is unlimited.
	RestoreRate int64
	// WorkloadDelay is how long Deployments and StatefulSets take to become ready. Default 1s.
	WorkloadDelay time.Duration
	// Gitea starts a Gitea server too.
	Gitea bool
	// Logger receives the simulators' logs; discarded when unset.
	Logger logr.Logger
}

// Lab is a running lab.
type Lab struct {
	Dir      string
	Tools    testenv.Tools
	Store    *backupstore.Store
	Clusters map[string]*Cluster
	Gitea    *testenv.Gitea

	opts Options

	agentMu          sync.Mutex
	agentKubeconfigs map[string]string
}

// Cluster is one API server with its simulator and the stand-in kubelet of its one node.
type Cluster struct {
	Name string
	API  *testenv.Cluster
	Sim  *longhornsim.Sim
	// Node is the name of the cluster's one Node, "<cluster>-node" (NodeName): pods bound to it
	// run, exec through the API server reaches them, and the Job stand-in binds Jobs' pods to it.
	Node string
	// Kubelet is the node's stand-in kubelet (internal/kubeletstandin); its processes run in
	// <Dir>/<cluster>-kubelet/pods/<namespace>/<pod>.
	Kubelet *kubeletstandin.Kubelet
	Client  client.Client
	dataDir string

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

// Start starts the lab; on error everything started is stopped.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	if opts.Dir == "" {
		return nil, errors.New("drlab: Dir is required")
	}
	if len(opts.Clusters) == 0 {
		opts.Clusters = []string{"east", "west"}
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = longhorn.DefaultBackupstorePollInterval
	}
	if opts.BlockSize == 0 {
		opts.BlockSize = 64 << 10
	}
	if opts.WorkloadDelay == 0 {
		opts.WorkloadDelay = time.Second
	}
	tools, err := testenv.FindTools()
	if err != nil {
		return nil, err
	}
	store, err := backupstore.New(filepath.Join(opts.Dir, "backupstore"))
	if err != nil {
		return nil, fmt.Errorf("drlab: %w", err)
	}
	l := &Lab{Dir: opts.Dir, Tools: tools, Store: store, Clusters: map[string]*Cluster{}, opts: opts}
	crds, err := longhorn.CRDs()
	if err != nil {
		return nil, err
	}
	// drplan's own status object, as the install creates it.
	statusCRD, err := planstatus.CRD()
	if err != nil {
		return nil, err
	}
	crds = append(crds, statusCRD)
	var g errgroup.Group
	var mu sync.Mutex
	for _, name := range opts.Clusters {
		g.Go(func() error {
			// The API server trusts the kubelet's CA from its start: make it first.
			kubeletDir := filepath.Join(opts.Dir, name+"-kubelet")
			ca, err := kubeletstandin.NewCA(kubeletDir)
			if err != nil {
				return err
			}
			api, err := testenv.StartCluster(name, opts.Dir, tools, testenv.ClusterOptions{
				CRDs: crds, Webhooks: longhornsim.WebhookInstallOptions(), KubeletCA: ca.CertFile})
			if err != nil {
				return err
			}
			c := &Cluster{Name: name, API: api, Node: NodeName(name), dataDir: filepath.Join(opts.Dir, name+"-volumes")}
			mu.Lock()
			l.Clusters[name] = c
			mu.Unlock()
			// The stand-in runs until StopCluster or Stop; ctx bounds its start only.
			if c.Kubelet, err = kubeletstandin.Start(ctx, kubeletstandin.Options{
				NodeName: c.Node, Config: api.Config, WorkDir: filepath.Join(kubeletDir, "pods"), CA: ca,
				Logger: opts.Logger.WithName("kubelet"),
			}); err != nil {
				return err
			}
			return l.startSim(c)
		})
	}
	if opts.Gitea {
		g.Go(func() error {
			gt, err := testenv.StartGitea(ctx, filepath.Join(opts.Dir, "gitea"), tools)
			l.Gitea = gt
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, errors.Join(err, l.Stop())
	}
	return l, nil
}

// StartSim starts (or restarts) the simulator of one cluster and waits until it is ready. A
// restarted simulator takes over where the last one stopped: its state is in the cluster, the
// store and the data files.
func (l *Lab) StartSim(_ context.Context, name string) error {
	return l.startSim(l.Clusters[name])
}

// startSim starts the simulator of c; Start calls it while other clusters are still being added
// to l.Clusters, so it reads nothing of that map.
func (l *Lab) startSim(c *Cluster) error {
	name := c.Name
	wh := c.API.Webhooks
	sim, err := longhornsim.New(longhornsim.Options{
		Cluster:      name,
		Config:       c.API.Config,
		Store:        l.Store,
		DataDir:      c.dataDir,
		PollInterval: l.opts.PollInterval,
		BlockSize:    l.opts.BlockSize,
		RestoreRate:  l.opts.RestoreRate,
		Webhook:      longhornsim.WebhookServing{Host: wh.LocalServingHost, Port: wh.LocalServingPort, CertDir: wh.LocalServingCertDir},
		Workloads:    &longhornsim.WorkloadOptions{Delay: l.opts.WorkloadDelay, NodeName: c.Node},
		Logger:       l.opts.Logger.WithName("longhornsim"),
	})
	if err != nil {
		return err
	}
	// The simulator outlives the caller's context: it runs until StopSim or Stop.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Start(ctx) }()
	select {
	case <-sim.Ready():
	case err := <-done:
		cancel()
		return fmt.Errorf("simulator of cluster %s stopped at start: %w", name, err)
	case <-time.After(60 * time.Second):
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("simulator of cluster %s not ready after 60s: %w", name, err)
		}
		return fmt.Errorf("simulator of cluster %s not ready after 60s", name)
	}
	c.mu.Lock()
	c.Sim, c.Client, c.cancel, c.done = sim, sim.Client(), cancel, done
	c.mu.Unlock()
	return nil
}

// StopSim stops one cluster's simulator and waits for it.
func (l *Lab) StopSim(name string) error {
	c := l.Clusters[name]
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.cancel = nil
	c.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	return <-done
}

// StopCluster stops one cluster's simulator, kubelet and API server: the cluster stops answering.
func (l *Lab) StopCluster(name string) error {
	c := l.Clusters[name]
	return errors.Join(l.StopSim(name), c.Kubelet.Stop(), c.API.Stop())
}

// NodeName is the name of the one Node of a lab cluster: "<cluster>-node".
func NodeName(cluster string) string { return cluster + "-node" }

// Stop stops everything.
func (l *Lab) Stop() error {
	var errs []error
	for name := range l.Clusters {
		errs = append(errs, l.StopCluster(name))
	}
	errs = append(errs, l.Gitea.Stop())
	return errors.Join(errs...)
}

// Kubeconfigs returns each cluster's kubeconfig path.
func (l *Lab) Kubeconfigs() map[string]string {
	out := map[string]string{}
	for name, c := range l.Clusters {
		out[name] = c.API.Kubeconfig
	}
	return out
}

// EnsureDir makes dir, for callers that keep the lab's state in a fixed place.
func EnsureDir(dir string) error { return os.MkdirAll(dir, 0o755) }
