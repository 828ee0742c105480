package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/probes"
	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/drplan/drplan/internal/cluster"
	"github.com/drplan/drplan/internal/config"
	"github.com/drplan/drplan/internal/executor"
	"github.com/drplan/drplan/internal/forge"
	"github.com/drplan/drplan/internal/planner"
	"github.com/drplan/drplan/internal/pullrequests"
	"github.com/drplan/drplan/internal/source"
	"github.com/drplan/drplan/internal/status"
	"github.com/drplan/drplan/internal/webhook"
	"github.com/drplan/drplan/plans"
)

// Agent is the running agent.
type Agent struct {
	opts     Options
	cfg      *config.AgentConfig
	clusters map[string]*cluster.Cluster
	source   *source.Source
	exec     *executor.Executor
	events   *eventRecorder
	observer observer
	status   *status.Store
	metrics  *metrics
	hook     *webhook.Handler
	prs      *pullrequests.Reporter
	// rev proposes the reversed plans after failovers; nil without a forge or a branch.
	rev      *reverser
	perms    *permissionChecks
	authz    *authorizer
	triggers chan struct{}
	fetches  chan struct{}
	log      logr.Logger
}

// LoadConfig reads and validates the config file; every problem is one line.
func LoadConfig(path string) (*config.AgentConfig, error) {
	cfg, problems := config.Load(path)
	if len(problems) > 0 {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.String()
		}
		return nil, fmt.Errorf("invalid config:\n%s", strings.Join(lines, "\n"))
	}
	return cfg, nil
}

// New builds the agent from its options: it reads the config and the secrets, and builds every
// client, but contacts nothing.
func New(opts Options) (*Agent, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		opts:     opts,
		cfg:      cfg,
		clusters: map[string]*cluster.Cluster{},
		status:   &status.Store{},
		triggers: make(chan struct{}, 1),
		fetches:  make(chan struct{}, 1),
	}
	a.metrics = newMetrics(a)
	for _, c := range cfg.Clusters {
		rc, err := restConfig(c)
		if err != nil {
			return nil, err
		}
		conn, err := cluster.New(cluster.Options{Name: c.Name, Config: rc, LonghornNamespace: cfg.LonghornNamespace, OnChange: a.trigger})
		if err != nil {
			return nil, err
		}
		a.clusters[c.Name] = conn
	}
	if a.observer, err = newObserver(cfg, a.clusters); err != nil {
		return nil, err
	}
	a.source, err = newSource(cfg, opts.CacheDir)
	if err != nil {
		return nil, err
	}
	conns := map[string]executor.Cluster{}
	for name, c := range a.clusters {
		conns[name] = c
	}
	a.perms, err = newPermissionChecks(cfg, a.clusters, a.leaderElection(), func(name string, missing []string) {
		a.metrics.missingPermissions.WithLabelValues(name).Set(float64(len(missing)))
		a.trigger()
	})
	if err != nil {
		return nil, err
	}
	a.events = newEventRecorder(a.clusters)
	a.exec = executor.New(executor.Options{Clusters: conns, Recorder: a.events})
	var f forge.Forge
	if cfg.Forge != nil {
		tok, err := cfg.Forge.Token()
		if err != nil {
			return nil, err
		}
		if f, err = forge.New(forge.Options{Kind: forge.Kind(cfg.Forge.Kind), URL: cfg.Forge.URL, Repo: cfg.Forge.Repo, Token: tok}); err != nil {
			return nil, err
		}
		a.prs = pullrequests.New(pullrequests.Options{Forge: f, PullRequests: &forge.PathFilter{Forge: f, Dir: cfg.Repo.Path},
			Base: cfg.Repo.Ref.Branch, Preview: a.preview, Interval: cfg.Repo.Interval.Duration, Shard: a.observer.shard})
		if cfg.Repo.Ref.Branch != "" {
			a.rev = newReverser(f, cfg.Repo.Ref.Branch)
		}
	}
	if a.authz, err = newAuthorizer(cfg, a.source, f); err != nil {
		return nil, err
	}
	if cfg.Webhook != nil {
		secret, err := cfg.Webhook.Secret()
		if err != nil {
			return nil, err
		}
		a.hook, err = webhook.New(webhook.Options{Secret: secret, OnEvent: a.onWebhook})
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

// restConfig reaches one cluster from its config entry.
func restConfig(c config.Cluster) (*rest.Config, error) {
	if c.InCluster {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("cluster %s: in-cluster config: %w", c.Name, err)
		}
		return rc, nil
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: kubeconfig %s: %w", c.Name, c.Kubeconfig, err)
	}
	return rc, nil
}

// newSource builds the plans repo's source from the config, reading its secrets.
func newSource(cfg *config.AgentConfig, cacheDir string) (*source.Source, error) {
	r := cfg.Repo
	var auth source.Auth
	tok, err := r.Auth.Token()
	if err != nil {
		return nil, err
	}
	auth.Token = tok
	if r.Auth.SSHKeyFile != "" {
		if auth.SSHPrivateKey, err = os.ReadFile(r.Auth.SSHKeyFile); err != nil {
			return nil, fmt.Errorf("read repository ssh key: %w", err)
		}
	}
	if r.Auth.KnownHostsFile != "" {
		if auth.SSHKnownHosts, err = os.ReadFile(r.Auth.KnownHostsFile); err != nil {
			return nil, fmt.Errorf("read repository known_hosts: %w", err)
		}
	}
	s, err := source.New(source.Options{
		URL:      r.URL,
		Ref:      source.Ref{Branch: r.Ref.Branch, Tag: r.Ref.Tag, Commit: r.Ref.Commit},
		Path:     r.Path,
		CacheDir: filepath.Join(cacheDir, "repo"),
		Auth:     auth,
	})
	if err != nil {
		return nil, fmt.Errorf("plans repo: %w", err)
	}
	return s, nil
}

// Run runs the agent until ctx ends: the manager (leader election, health and metrics
// endpoints), the status and webhook listeners, and, while leading, the loop.
func (a *Agent) Run(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx)
	a.log = log
	le := a.cfg.LeaderElection
	leaderCluster, ok := a.clusters[le.Cluster]
	if !ok {
		return fmt.Errorf("leader election cluster %s is not configured", le.Cluster)
	}
	enable := a.leaderElection()
	leaseDuration, renew, retry := a.opts.LeaderElection.LeaseDuration, a.opts.LeaderElection.RenewDeadline, a.opts.LeaderElection.RetryPeriod
	mopts := ctrl.Options{
		Scheme:                        cluster.Scheme,
		Logger:                        log,
		Metrics:                       metricsserver.Options{BindAddress: a.cfg.Metrics.Listen},
		HealthProbeBindAddress:        a.cfg.Health.Listen,
		PprofBindAddress:              a.opts.PprofListen,
		LeaderElection:                enable,
		LeaderElectionID:              leaseName(a.owner(), a.observer.shard),
		LeaderElectionNamespace:       le.Namespace,
		LeaderElectionReleaseOnCancel: a.opts.LeaderElection.ReleaseOnCancel,
	}
	if leaseDuration > 0 {
		mopts.LeaseDuration, mopts.RenewDeadline, mopts.RetryPeriod = &leaseDuration, &renew, &retry
	}
	mgr, err := ctrl.NewManager(leaderCluster.LeaseConfig(), mopts)
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	probes.SetupChecks(mgr, log)
	if err := a.metrics.register(); err != nil {
		return err
	}
	if err := mgr.Add(&loop{a: a}); err != nil {
		return fmt.Errorf("add loop: %w", err)
	}
	// On every replica: a follower's credentials need the lease too.
	if err := mgr.Add(runnableFunc(func(ctx context.Context) error { return a.perms.run(logr.NewContext(ctx, log)) })); err != nil {
		return fmt.Errorf("add permission checks: %w", err)
	}
	if a.prs != nil {
		a.prs.SetLogger(log)
		if err := mgr.Add(a.prs); err != nil {
			return fmt.Errorf("add pull request reporter: %w", err)
		}
	}
	if a.rev != nil {
		if err := mgr.Add(a.rev); err != nil {
			return fmt.Errorf("add reverse proposals: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/status", a.status.Handler(a.followerStatus))
	mux.HandleFunc("/reconcile", a.reconcile)
	if err := mgr.Add(httpServer("status", a.cfg.Status.Listen, mux)); err != nil {
		return fmt.Errorf("add status server: %w", err)
	}
	if a.hook != nil {
		hooks := http.NewServeMux()
		hooks.Handle("/hooks/git", a.hook)
		if err := mgr.Add(httpServer("webhook", a.cfg.Webhook.Listen, hooks)); err != nil {
			return fmt.Errorf("add webhook server: %w", err)
		}
		if err := mgr.Add(runnableFunc(a.hook.Start)); err != nil {
			return fmt.Errorf("add webhook queue: %w", err)
		}
	}
	log.Info("agent starting", "config", a.opts.ConfigPath, "clusters", len(a.clusters), "repo", source.SanitizeURL(a.cfg.Repo.URL),
		"leaderElection", enable, "leaderCluster", le.Cluster)
	if pol := a.observer.authorization; pol.Required() {
		log.Info("failover authorization on", "signedCommits", pol.SignedCommit, "approvals", pol.Approvals, "teams", pol.Teams())
	} else {
		log.Info("failover authorization off: whoever can push failover: true to the tracked branch can fail a plan over (set failoverAuthorization, docs/failover.md)")
	}
	return mgr.Start(ctx)
}

// leaderElection says whether replicas elect a leader: by flag or by config.
func (a *Agent) leaderElection() bool {
	return a.opts.LeaderElection.Enable || a.cfg.LeaderElection.Enabled
}

// preview decides the plans at a pull request's head against the live clusters, changing
// nothing: the pull-request reporter's PreviewFunc.
func (a *Agent) preview(ctx context.Context, pr forge.PullRequest) (pullrequests.Decision, error) {
	snap, err := a.source.FetchRef(ctx, pr.HeadRef)
	if err != nil {
		return pullrequests.Decision{}, err
	}
	set, problems := plans.LoadFS(snap.FS, ".", plans.WithClusters(a.cfg.ClusterNames()...))
	return pullrequests.Decision{Revision: snap.Revision, Problems: problems, Result: a.observer.decide(ctx, set, snap.Revision)}, nil
}

// leaseName is the leader-election lease of the agents of one plans repository, or of one of
// its shards: every shard elects its own leader.
func leaseName(owner, shard string) string {
	if shard == "" {
		return "drplan-agent-" + owner
	}
	return "drplan-agent-" + owner + "-" + shard
}

// owner is this agent's owner label value: the plans repo and path it tracks.
func (a *Agent) owner() string { return a.observer.owner }

func ownerOf(cfg *config.AgentConfig) string {
	return planner.OwnerID(source.SanitizeURL(cfg.Repo.URL), cfg.Repo.Path)
}

// trigger asks for a pass without blocking; triggers coalesce.
func (a *Agent) trigger() {
	select {
	case a.triggers <- struct{}{}:
	default:
	}
}

// fetchNow asks for a fetch and a pass without blocking.
func (a *Agent) fetchNow() {
	select {
	case a.fetches <- struct{}{}:
	default:
	}
}

func (a *Agent) onWebhook(ev webhook.Event) {
	switch {
	case ev.Kind == webhook.Push:
		a.fetchNow()
	case ev.Kind == webhook.PullRequest && a.prs != nil:
		a.prs.PullRequestEvent()
		if ev.Merged {
			a.fetchNow()
		}
	}
}

// httpServer is a manager runnable serving handler on addr until the manager stops. It runs on
// every replica, leader or not.
func httpServer(name, addr string, handler http.Handler) runnableFunc {
	return func(ctx context.Context) error {
		srv := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		errc := make(chan error, 1)
		go func() { errc <- srv.ListenAndServe() }()
		select {
		case err := <-errc:
			return fmt.Errorf("%s server on %s: %w", name, addr, err)
		case <-ctx.Done():
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s server: %w", name, err)
			}
			return nil
		}
	}
}

// runnableFunc runs on every replica (no leader election needed).
type runnableFunc func(context.Context) error

func (f runnableFunc) Start(ctx context.Context) error { return f(ctx) }
func (f runnableFunc) NeedLeaderElection() bool        { return false }
