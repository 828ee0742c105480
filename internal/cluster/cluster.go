package cluster

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
	"github.com/drplan/drplan/internal/planstatus"
)

// Options shape one cluster connection.
type Options struct {
	// Name is the cluster's name in the agent's config.
	Name string
	// Config reaches the API server.
	Config *rest.Config
	// LonghornNamespace is where Longhorn's objects live.
	LonghornNamespace string
	// ProbeInterval is how often the API server's /readyz is probed. Default 5s. Informers retry
	// a refused connection silently, so only a probe tells that a cluster stopped answering.
	ProbeInterval time.Duration
	// OnChange, when set, is called (without blocking) whenever a cached object changes.
	OnChange func()
	// Clock is injected for tests; the real clock by default.
	Clock clock.PassiveClock
	// RequestTimeout bounds each request but the caches' watch streams, which stay open
	// until the API server ends them (every 5 to 10 minutes). Default 30s.
	RequestTimeout time.Duration
}

// Scheme knows the core kinds, Longhorn's and drplan's status object.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = longhorn.AddToScheme(s)
	_ = planstatus.AddToScheme(s)
	return s
}()

// Cluster is one connection. Create with New, then Start.
type Cluster struct {
	opts   Options
	config *rest.Config
	client client.Client
	cache  cache.Cache
	probe  *rest.RESTClient
	// statusCache holds drplan's status objects, once their CRD is served (planstatus.go).
	statusCache  cache.Cache
	statusSynced atomic.Bool
	requests     requestCounters
	watches      atomic.Int64
	probes       atomic.Int64
	log          atomic.Pointer[logr.Logger]

	mu        sync.Mutex
	synced    bool
	reachable bool
	downSince time.Time
	lastErr   error
	kick      chan struct{}
}

// DefaultQPS and DefaultBurst bound the requests per second of a cluster's client when its
// config sets none: client-go's token bucket, shared by every request of the agent.
const (
	DefaultQPS   = 50
	DefaultBurst = 100
)

// New builds the clients and the cache; nothing is contacted until Start.
func New(opts Options) (*Cluster, error) {
	if opts.ProbeInterval == 0 {
		opts.ProbeInterval = 5 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	c := &Cluster{opts: opts, reachable: true, kick: make(chan struct{}, 1)}
	cfg := rest.CopyConfig(opts.Config)
	cfg.WrapTransport = chainWrap(cfg.WrapTransport, func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{next: rt, c: c}
	})
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = DefaultQPS, DefaultBurst
	}
	// The caches' client has no timeout: an http.Client timeout would cut every watch stream
	// after it, and the informers would open them all again, each time.
	cacheCfg := rest.CopyConfig(cfg)
	cacheCfg.Timeout = 0
	cacheHTTP, err := rest.HTTPClientFor(cacheCfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: http client: %w", opts.Name, err)
	}
	cfg.Timeout = opts.RequestTimeout
	c.config = cfg
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: http client: %w", opts.Name, err)
	}
	mapper, err := lazyMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: rest mapper: %w", opts.Name, err)
	}
	c.cache, err = cache.New(cacheCfg, cache.Options{
		HTTPClient:               cacheHTTP,
		Scheme:                   Scheme,
		Mapper:                   mapper,
		ByObject:                 cacheScope(opts.LonghornNamespace),
		DefaultTransform:         cache.TransformStripManagedFields(),
		DefaultWatchErrorHandler: c.watchError,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: cache: %w", opts.Name, err)
	}
	// Scoped by defaults, not ByObject: ByObject asks the API server about the kind at once,
	// and the DRPlanStatus CRD may be missing, or the cluster not answering yet.
	c.statusCache, err = cache.New(cacheCfg, cache.Options{
		HTTPClient:           cacheHTTP,
		Scheme:               Scheme,
		Mapper:               mapper,
		DefaultNamespaces:    map[string]cache.Config{opts.LonghornNamespace: {}},
		DefaultLabelSelector: oursSelector(),
		DefaultTransform:     cache.TransformStripManagedFields(),
	})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: status object cache: %w", opts.Name, err)
	}
	c.client, err = client.New(cfg, client.Options{HTTPClient: httpClient, Scheme: Scheme, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: client: %w", opts.Name, err)
	}
	// The probe does not go through the counting transport: it is not part of a pass.
	probeCfg := rest.CopyConfig(opts.Config)
	probeCfg.Timeout = 5 * time.Second
	probeCfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	c.probe, err = rest.UnversionedRESTClientFor(probeCfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: probe client: %w", opts.Name, err)
	}
	return c, nil
}

// Start runs the cache until ctx ends. It returns at once: a cluster that does not answer yet is
// reported by State and synced when it answers.
func (c *Cluster) Start(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx).WithValues("cluster", c.opts.Name)
	c.log.Store(&log)
	for _, obj := range watched() {
		inf, err := c.cache.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			return fmt.Errorf("cluster %s: informer for %T: %w", c.opts.Name, obj, err)
		}
		if c.opts.OnChange != nil {
			_, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
				AddFunc:    func(any) { c.opts.OnChange() },
				UpdateFunc: func(any, any) { c.opts.OnChange() },
				DeleteFunc: func(any) { c.opts.OnChange() },
			})
			if err != nil {
				return fmt.Errorf("cluster %s: event handler for %T: %w", c.opts.Name, obj, err)
			}
		}
	}
	go func() {
		if err := c.cache.Start(ctx); err != nil {
			log.Error(err, "cache stopped")
		}
	}()
	go func() {
		if c.cache.WaitForCacheSync(ctx) {
			c.mu.Lock()
			c.synced = true
			c.mu.Unlock()
			log.Info("cluster cache synced")
			if c.opts.OnChange != nil {
				c.opts.OnChange()
			}
		}
	}()
	go c.runProbe(ctx)
	go c.runStatusCache(ctx)
	return nil
}

// WaitSynced waits until the caches synced or the cluster is known unreachable, at most timeout.
// It reports whether the caches synced.
func (c *Cluster) WaitSynced(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		h := c.Health()
		if h.Synced {
			return true
		}
		if (!h.Reachable && !h.DownSince.IsZero()) || time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.opts.Name }

// Client writes to the cluster (reads should go through State).
func (c *Cluster) Client() client.Client { return c.client }

// LeaseConfig is the cluster's config without request counting, for leader election: lease
// renewals are not part of a pass.
func (c *Cluster) LeaseConfig() *rest.Config { return rest.CopyConfig(c.opts.Config) }

// RESTConfig is the connection's config; requests made with it are counted.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.config) }

// Reader reads from the informer cache.
func (c *Cluster) Reader() client.Reader { return c.cache }

// Requests is how many HTTP requests the agent has sent to this cluster so far, watch streams
// aside: lists, reads, writes, events.
func (c *Cluster) Requests() int64 { return c.requests.total() }

// RequestsByVerb is Requests by the Kubernetes verb of each request (get, list, create,
// update, patch, delete, deletecollection), as the API server's audit log names them.
func (c *Cluster) RequestsByVerb() map[string]int64 { return c.requests.byVerb() }

// Watches is how many watch streams the caches have opened on this cluster so far: one per
// watched kind at start, then one each time the API server ends one (every 5 to 10 minutes)
// or the connection drops.
func (c *Cluster) Watches() int64 { return c.watches.Load() }

// Health reports reachability without contacting the cluster.
func (c *Cluster) Health() observed.Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := observed.Health{Synced: c.synced, Reachable: c.reachable, DownSince: c.downSince}
	if !c.reachable && c.lastErr != nil {
		h.Err = c.lastErr.Error()
	}
	return h
}

// MarkFailed records that a request to the cluster failed at the transport level: the cluster
// is probed at once.
func (c *Cluster) MarkFailed(error) { c.probeNow() }

// watchError is the informers' watch error handler: an early sign, probed at once.
func (c *Cluster) watchError(context.Context, *toolscache.Reflector, error) { c.probeNow() }

func (c *Cluster) probeNow() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Probes is how many /readyz probes were sent (they are not counted in Requests).
func (c *Cluster) Probes() int64 { return c.probes.Load() }

// runProbe probes /readyz every ProbeInterval, and at once when kicked, until ctx ends.
func (c *Cluster) runProbe(ctx context.Context) {
	log := logr.FromContextOrDiscard(ctx).WithValues("cluster", c.opts.Name)
	t := time.NewTicker(c.opts.ProbeInterval)
	defer t.Stop()
	for {
		c.probes.Add(1)
		err := c.probe.Get().AbsPath("/readyz").Do(ctx).Error()
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		wasReachable := c.reachable
		switch {
		case err == nil:
			c.reachable, c.lastErr, c.downSince = true, nil, time.Time{}
		case c.reachable:
			c.reachable, c.lastErr, c.downSince = false, err, c.opts.Clock.Now()
		default:
			c.lastErr = err
		}
		c.mu.Unlock()
		switch {
		case err == nil && !wasReachable:
			log.Info("cluster answers again")
		case err != nil && wasReachable:
			log.Info("cluster unreachable", "error", err.Error())
		}
		if (err == nil) != wasReachable && c.opts.OnChange != nil {
			c.opts.OnChange()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
	}
}

func nsOnly(ns string) map[string]cache.Config { return map[string]cache.Config{ns: {}} }

// countingTransport counts every request, watch streams apart, and logs it at debug level
// (V(1)) with Start's logger: what a pass, an event or a cache sent, to tell where requests
// come from.
type countingTransport struct {
	next http.RoundTripper
	c    *Cluster
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	watch := r.URL.Query().Get("watch") == "true"
	if watch {
		t.c.watches.Add(1)
	} else {
		t.c.requests.add(Verb(r.Method, r.URL.Path))
	}
	if log := t.c.log.Load(); log != nil {
		log.V(1).Info("API request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "watch", watch)
	}
	return t.next.RoundTrip(r)
}

func chainWrap(prev, next func(http.RoundTripper) http.RoundTripper) func(http.RoundTripper) http.RoundTripper {
	if prev == nil {
		return next
	}
	return func(rt http.RoundTripper) http.RoundTripper { return next(prev(rt)) }
}
