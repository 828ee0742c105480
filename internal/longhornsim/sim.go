package longhornsim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// finalizer is the finalizer Longhorn puts on its objects (common.GetLonghornFinalizerPatchOpIfNeeded).
const finalizer = "longhorn.io"

// Sim is the simulated longhorn-manager of one cluster.
type Sim struct {
	opts  Options
	log   logr.Logger
	api   client.Client // uncached: knobs and writes
	mgr   manager.Manager
	data  *volumeData
	node  string
	ready chan struct{}

	paused           atomic.Bool
	storeUnreachable atomic.Bool
	// backupConfigsUnreadable makes this cluster's reads of backup configs fail
	// (SetBackupConfigsReadable).
	backupConfigsUnreadable atomic.Bool
	restoreRate             atomic.Int64
	// volumeEvents wakes the volume controller for a volume (an attachment ticket changed).
	volumeEvents chan event.GenericEvent

	mu        sync.Mutex
	latencies Latencies
	runCtx    context.Context
	polls     map[string]*pollTimer  // BackupTarget name
	crons     map[string]*cronEntry  // RecurringJob name
	restores  map[string]*restoreJob // volume name
	uploads   map[string]*uploadJob  // Backup name
	// snapshotWaits counts the reconciles a Backup waited for its snapshot
	// (creationRetryCounter).
	snapshotWaits map[string]int          // Backup name
	workloads     map[string]workloadSeen // kind/namespace/name

	transitions   map[string]time.Time        // volume name: when attaching or detaching began
	restoreFaults map[string]string           // volume name: the error FailRestore armed
	tickets       map[string]map[string]bool  // volume name: its attachment tickets
	kubeStatus    map[string]kubernetesStatus // volume name: the kubernetesStatus last written
}

// New validates opts and builds the simulator; Start runs it.
func New(opts Options) (*Sim, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	// The API server warns about Longhorn's finalizer name "longhorn.io"; it is Longhorn's.
	opts.Config = rest.CopyConfig(opts.Config)
	opts.Config.WarningHandler = rest.NoWarnings{}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{longhorn.AddToScheme, corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("new longhorn simulator for cluster %s: %w", opts.Cluster, err)
		}
	}
	api, err := client.New(opts.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("new longhorn simulator for cluster %s: %w", opts.Cluster, err)
	}
	mopts := manager.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Five workers per controller, as longhorn-manager runs each of its controllers
		// (controller.Workers): one object is never reconciled twice at once, several are.
		Controller: config.Controller{SkipNameValidation: ptr.To(true), MaxConcurrentReconciles: Workers},
		Logger:     opts.Logger,
	}
	if opts.Webhook.Port != 0 {
		mopts.WebhookServer = webhook.NewServer(webhook.Options{
			Host: opts.Webhook.Host, Port: opts.Webhook.Port, CertDir: opts.Webhook.CertDir,
		})
	}
	mgr, err := manager.New(opts.Config, mopts)
	if err != nil {
		return nil, fmt.Errorf("new longhorn simulator for cluster %s: %w", opts.Cluster, err)
	}
	s := &Sim{
		opts:      opts,
		api:       api,
		mgr:       mgr,
		data:      &volumeData{dir: opts.DataDir},
		node:      opts.Cluster + "-node-1",
		ready:     make(chan struct{}),
		latencies: opts.Latencies,
		polls:     map[string]*pollTimer{},
		crons:     map[string]*cronEntry{},
		restores:  map[string]*restoreJob{},
		uploads:   map[string]*uploadJob{},

		snapshotWaits: map[string]int{},
		workloads:     map[string]workloadSeen{},

		transitions:   map[string]time.Time{},
		restoreFaults: map[string]string{},
		tickets:       map[string]map[string]bool{},
		kubeStatus:    map[string]kubernetesStatus{},
		volumeEvents:  make(chan event.GenericEvent, 256),
	}
	s.restoreRate.Store(opts.RestoreRate)
	return s, nil
}

// Workers is how many objects of one kind each simulated controller reconciles at once:
// longhorn-manager's controller.Workers.
const Workers = 5

// Start installs what a Longhorn install creates (the namespace, the default BackupTarget
// pointing at the store, the Settings the simulator reads), registers the controllers and the
// webhooks, and runs until ctx ends. A new Sim on the same cluster, store and data directory
// takes over where a stopped one left off: its state is in the cluster, the store and the
// data files.
func (s *Sim) Start(ctx context.Context) error {
	s.log = s.opts.Logger
	if s.log.GetSink() == nil {
		s.log = log.FromContext(ctx)
	}
	s.log = s.log.WithValues("cluster", s.opts.Cluster)
	ctx = logr.NewContext(ctx, s.log)
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
	if err := s.install(ctx); err != nil {
		return err
	}
	if err := s.setupControllers(); err != nil {
		return fmt.Errorf("start longhorn simulator for cluster %s: %w", s.opts.Cluster, err)
	}
	if s.opts.Webhook.Port != 0 {
		s.setupWebhooks()
	}
	go func() {
		if !s.mgr.GetCache().WaitForCacheSync(ctx) {
			return
		}
		// Ready means admission works too: the API server calls the webhook server, which must
		// be listening before anyone creates a volume.
		if s.opts.Webhook.Port != 0 {
			started := s.mgr.GetWebhookServer().StartedChecker()
			for started(nil) != nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
		close(s.ready)
	}()
	s.log.Info("longhorn simulator starting", "namespace", s.opts.Namespace, "store", s.opts.Store.URL(), "node", s.node)
	if err := s.mgr.Start(ctx); err != nil {
		return fmt.Errorf("run longhorn simulator for cluster %s: %w", s.opts.Cluster, err)
	}
	s.stopAll()
	return nil
}

// Ready is closed once the simulator's caches are in sync and its controllers run.
func (s *Sim) Ready() <-chan struct{} { return s.ready }

// Client returns an uncached client of the cluster with the Longhorn, core and apps types.
func (s *Sim) Client() client.Client { return s.api }

// Namespace is where the simulator keeps Longhorn's objects.
func (s *Sim) Namespace() string { return s.opts.Namespace }

// Store is the shared backup store.
func (s *Sim) Store() *backupstore.Store { return s.opts.Store }

// install creates what a Longhorn install creates, when missing (REFERENCE §3.3: the default
// BackupTarget exists from install on; §5: Settings exist with their defaults).
func (s *Sim) install(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.opts.Namespace}}
	if err := s.api.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("install longhorn in cluster %s: create namespace %s: %w", s.opts.Cluster, s.opts.Namespace, err)
	}
	bt := &longhorn.BackupTarget{
		ObjectMeta: metav1.ObjectMeta{Name: longhorn.DefaultBackupTargetName, Namespace: s.opts.Namespace},
		Spec: longhorn.BackupTargetSpec{
			BackupTargetURL: s.opts.Store.URL(),
			PollInterval:    &metav1.Duration{Duration: s.opts.PollInterval},
		},
	}
	if err := s.api.Create(ctx, bt); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("install longhorn in cluster %s: create backup target %s: %w", s.opts.Cluster, bt.Name, err)
	}
	for name, value := range settingDefaults {
		st := &longhorn.Setting{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.opts.Namespace}, Value: value}
		if err := s.api.Create(ctx, st); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("install longhorn in cluster %s: create setting %s: %w", s.opts.Cluster, name, err)
		}
	}
	return nil
}

// Settings the simulator reads, with Longhorn's defaults (REFERENCE §5; types/setting.go).
const (
	settingAllowDetachedRecurringJob             = "allow-recurring-job-while-volume-detached"
	settingAutoCleanupRecurringJobBackupSnapshot = "auto-cleanup-recurring-job-backup-snapshot"
	settingAutoCleanupOnDemandBackupSnapshot     = "auto-cleanup-snapshot-after-on-demand-backup-completed"
	settingAutoCleanupWhenDeleteBackup           = "auto-cleanup-when-delete-backup"
)

var settingDefaults = map[string]string{
	longhorn.SettingAllowDegradedAvailability:    "true",
	settingAllowDetachedRecurringJob:             "false",
	settingAutoCleanupRecurringJobBackupSnapshot: "true",
	settingAutoCleanupOnDemandBackupSnapshot:     "false",
	settingAutoCleanupWhenDeleteBackup:           "false",
}

// settingBool reads a boolean Setting, its default when the Setting is missing.
func (s *Sim) settingBool(ctx context.Context, name string) (bool, error) {
	var st longhorn.Setting
	err := s.mgr.GetClient().Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: name}, &st)
	if apierrors.IsNotFound(err) {
		return settingDefaults[name] == "true", nil
	}
	if err != nil {
		return false, fmt.Errorf("get setting %s in cluster %s: %w", name, s.opts.Cluster, err)
	}
	return st.Value == "true", nil
}

// stopAll stops the poll timers, cron schedules and restores when the manager stops.
func (s *Sim) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range s.polls {
		p.stop()
		delete(s.polls, k)
	}
	for k, c := range s.crons {
		c.stop()
		delete(s.crons, k)
	}
	for _, r := range s.restores {
		r.cancel()
	}
}

// errPaused is what the simulator answers while SetPaused(true).
var errPaused = errors.New("longhorn-manager is not answering (simulator paused)")
