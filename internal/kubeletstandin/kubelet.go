package kubeletstandin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/drplan/drplan/internal/freeport"
)

// Defaults of Options.
const (
	DefaultHeartbeatInterval = 10 * time.Second
	DefaultMaxRunTime        = 10 * time.Minute
)

// startTimeout bounds Start's wait for the pod cache.
const startTimeout = 60 * time.Second

// Options shape one stand-in kubelet.
type Options struct {
	// NodeName is the Node the stand-in registers; it serves the pods whose spec.nodeName it is.
	// Required.
	NodeName string
	// Config reaches the cluster's API server. Required.
	Config *rest.Config
	// WorkDir holds the pods' working directories (WorkDir/<namespace>/<pod>) and their
	// containers' output. Required.
	WorkDir string
	// CA signs the serving certificate. The API server trusts it only if it was given at its
	// start (NewCA, testenv.ClusterOptions.KubeletCA); when nil, Start makes one in WorkDir, which
	// only direct clients can trust (Kubelet.CA).
	CA *CA
	// HeartbeatInterval is how often the Node's Ready condition is renewed;
	// DefaultHeartbeatInterval when zero.
	HeartbeatInterval time.Duration
	// MaxRunTime bounds every process the stand-in runs, for an exec or a container;
	// DefaultMaxRunTime when zero.
	MaxRunTime time.Duration
	// Logger logs; the logger of Start's context when unset.
	Logger logr.Logger
	// Clock stamps conditions and times heartbeats and deadlines; the real clock when nil.
	Clock clock.WithTicker
}

func (o *Options) defaults() error {
	var errs []error
	if o.NodeName == "" {
		errs = append(errs, errors.New("node name is required"))
	}
	if o.Config == nil {
		errs = append(errs, errors.New("rest config is required"))
	}
	if o.WorkDir == "" {
		errs = append(errs, errors.New("work directory is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kubelet stand-in options: %w", err)
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.MaxRunTime <= 0 {
		o.MaxRunTime = DefaultMaxRunTime
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return nil
}

// Kubelet is a running stand-in kubelet of one node.
type Kubelet struct {
	opts   Options
	log    logr.Logger
	port   int
	api    client.Client // uncached: the Node, writes, fresh reads
	pods   client.Reader // the cache of the node's pods
	server *http.Server

	ctx    context.Context // ends at Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // the manager, the server, the heartbeat, pod runs and exec sessions
	mgrErr chan error

	mu    sync.Mutex
	runs  map[types.NamespacedName]*podRun
	conns map[net.Conn]struct{} // hijacked exec connections
	once  sync.Once
}

// Start registers the node, serves its HTTPS endpoint on loopback and runs its pods until Stop.
// It returns once the node is registered and the pod cache is in sync. ctx bounds the start
// only (and gives the logger when Options.Logger is unset): the stand-in runs until Stop.
func Start(ctx context.Context, opts Options) (*Kubelet, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	node := opts.NodeName
	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("start kubelet of node %s: %w", node, err)
	}
	if opts.CA == nil {
		ca, err := NewCA(opts.WorkDir)
		if err != nil {
			return nil, err
		}
		opts.CA = ca
	}
	cert, err := opts.CA.servingCert(node)
	if err != nil {
		return nil, err
	}
	k := &Kubelet{opts: opts, runs: map[types.NamespacedName]*podRun{}, conns: map[net.Conn]struct{}{}, mgrErr: make(chan error, 1)}
	k.log = opts.Logger
	if k.log.GetSink() == nil {
		k.log = log.FromContext(ctx)
	}
	k.log = k.log.WithValues("node", node)
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("start kubelet of node %s: %w", node, err)
	}
	if k.api, err = client.New(opts.Config, client.Options{Scheme: scheme}); err != nil {
		return nil, fmt.Errorf("start kubelet of node %s: %w", node, err)
	}
	mgr, err := manager.New(opts.Config, manager.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Only the node's pods, as the kubelet watches them.
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Field: fields.OneTermEqualSelector("spec.nodeName", node)},
		}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true), MaxConcurrentReconciles: 4},
		Logger:     k.log,
	})
	if err != nil {
		return nil, fmt.Errorf("start kubelet of node %s: %w", node, err)
	}
	k.pods = mgr.GetCache()
	if err := ctrl.NewControllerManagedBy(mgr).Named("kubeletstandin-" + node).For(&corev1.Pod{}).
		Complete(reconcile.Func(k.reconcilePod)); err != nil {
		return nil, fmt.Errorf("start kubelet of node %s: %w", node, err)
	}
	ln, err := listen()
	if err != nil {
		return nil, fmt.Errorf("start kubelet of node %s: %w", node, err)
	}
	k.port = ln.Addr().(*net.TCPAddr).Port
	k.server = &http.Server{
		Handler:           k.routes(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          stdlog.New(serverLog{k.log}, "", 0),
	}

	// The stand-in outlives the caller's context: it runs until Stop.
	k.ctx, k.cancel = context.WithCancel(logr.NewContext(context.WithoutCancel(ctx), k.log))
	k.wg.Add(2)
	go func() {
		defer k.wg.Done()
		if err := k.server.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			k.log.Error(err, "kubelet server stopped")
		}
	}()
	go func() {
		defer k.wg.Done()
		k.mgrErr <- mgr.Start(k.ctx)
	}()
	if err := k.waitStarted(ctx, mgr); err != nil {
		return nil, errors.Join(fmt.Errorf("start kubelet of node %s: %w", node, err), k.Stop())
	}
	if err := k.registerNode(ctx); err != nil {
		return nil, errors.Join(err, k.Stop())
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		k.heartbeat()
	}()
	k.log.Info("kubelet stand-in started", "address", k.Addr(), "workDir", opts.WorkDir)
	return k, nil
}

// waitStarted waits for the pod cache, or for the manager to fail.
func (k *Kubelet) waitStarted(ctx context.Context, mgr manager.Manager) error {
	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	synced := make(chan bool, 1)
	go func() { synced <- mgr.GetCache().WaitForCacheSync(wctx) }()
	select {
	case ok := <-synced:
		if !ok {
			return fmt.Errorf("pod cache not in sync after %s", startTimeout)
		}
		return nil
	case err := <-k.mgrErr:
		k.mgrErr <- err // for Stop
		return fmt.Errorf("manager stopped: %w", err)
	}
}

// listen listens on a free loopback port; another process may take a port between freeport's
// check and the listen, so a few are tried.
func listen() (net.Listener, error) {
	var errs []error
	for range 5 {
		addr, err := freeport.Addr()
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// Stop kills every process the stand-in runs, stops serving and waits for all of it. The Node
// is left as it is. Stopping again does nothing.
func (k *Kubelet) Stop() error {
	if k == nil {
		return nil
	}
	var err error
	k.once.Do(func() {
		k.cancel()
		_ = k.server.Close()
		// Hijacked exec connections are not the server's any more.
		k.mu.Lock()
		conns := make([]net.Conn, 0, len(k.conns))
		for c := range k.conns {
			conns = append(conns, c)
		}
		k.mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
		k.wg.Wait()
		select {
		case err = <-k.mgrErr:
		default:
		}
		if err != nil {
			err = fmt.Errorf("stop kubelet of node %s: %w", k.opts.NodeName, err)
		}
		k.log.Info("kubelet stand-in stopped")
	})
	return err
}

// NodeName is the name of the stand-in's Node.
func (k *Kubelet) NodeName() string { return k.opts.NodeName }

// Port is the HTTPS port the stand-in serves on, the Node's kubeletEndpoint port.
func (k *Kubelet) Port() int { return k.port }

// Addr is the stand-in's host:port on loopback.
func (k *Kubelet) Addr() string { return net.JoinHostPort(loopback, strconv.Itoa(k.port)) }

// CA is the CA that signed the stand-in's serving certificate.
func (k *Kubelet) CA() *CA { return k.opts.CA }

// PodDir is the working directory of a pod's processes: WorkDir/<namespace>/<pod>.
func (k *Kubelet) PodDir(namespace, name string) string {
	return podDir(k.opts.WorkDir, namespace, name)
}

// serverLog takes the HTTP server's own messages (TLS handshake errors) to the logger, at debug
// level.
type serverLog struct{ log logr.Logger }

func (w serverLog) Write(p []byte) (int, error) {
	w.log.V(1).Info("kubelet server", "message", strings.TrimSpace(string(p)))
	return len(p), nil
}
