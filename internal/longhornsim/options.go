package longhornsim

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// Options shape one simulated longhorn-manager, for one cluster.
type Options struct {
	// Cluster names the cluster, in logs and in the simulated node name "<cluster>-node-1".
	Cluster string
	// Config reaches the cluster's API server.
	Config *rest.Config
	// Namespace holds Longhorn's custom resources; longhorn.DefaultNamespace when empty.
	Namespace string
	// Store is the backup store every cluster shares.
	Store *backupstore.Store
	// DataDir holds this cluster's volume data files; each cluster needs its own.
	DataDir string
	// PollInterval is the pollInterval of the default BackupTarget when the simulator creates
	// it (it creates it when missing, as a Longhorn install does, pointing at Store);
	// longhorn.DefaultBackupstorePollInterval when zero. The BackupTarget's spec.pollInterval
	// is what counts afterwards.
	PollInterval time.Duration
	// RestoreRate is how many bytes per second a restore moves from the store; 0 is unlimited.
	RestoreRate int64
	// BlockSize is the backup block size; backupstore.BlockSize2Mi (Longhorn's default) when zero. Any power
	// of two from 4 KiB up is taken, so that test data stays small.
	BlockSize int64
	// Latencies delay what longhorn-manager does not do at once.
	Latencies Latencies
	// Webhook serves the admission webhooks when Port is set; see WebhookInstallOptions.
	Webhook WebhookServing
	// Workloads, when set, runs the workload readiness loop that stands in for
	// kube-controller-manager.
	Workloads *WorkloadOptions
	// Logger logs; the logger of Start's context when unset.
	Logger logr.Logger
	// Clock times polls, cron, latencies and records; the real clock when nil.
	Clock clock.WithTicker
}

// Latencies delay steps that take time in a real Longhorn.
type Latencies struct {
	// Backup is the upload time of a backup, from InProgress to Completed.
	Backup time.Duration
	// Attach is the time a volume spends attaching: a restore or standby volume, one a workload
	// attaches, and a detached one a Snapshot or Backup CR attaches for itself (REFERENCE
	// §10.9); zero attaches on the next reconcile. SetLatencies changes it.
	Attach time.Duration
	// Detach is the time an activated volume spends detaching.
	Detach time.Duration
	// Snapshot is how long after its creation a Snapshot CR with spec.createSnapshot is taken
	// (and becomes readyToUse). The snapshots the simulator makes for its own backups are taken
	// at once.
	Snapshot time.Duration
}

// WebhookServing is where the admission webhook server listens: envtest's
// WebhookInstallOptions.LocalServingHost, LocalServingPort and LocalServingCertDir.
type WebhookServing struct {
	Host    string
	Port    int
	CertDir string
}

// WorkloadOptions tune the workload readiness loop.
type WorkloadOptions struct {
	// Delay is how long a Deployment or StatefulSet takes to become ready after a change.
	Delay time.Duration
	// NodeName, when set, runs the Job stand-in too (workload_job.go): a Job's pods are bound
	// to this node, where a kubelet stand-in (internal/kubeletstandin) runs them.
	NodeName string
}

func (o *Options) defaults() error {
	var errs []error
	if o.Cluster == "" {
		errs = append(errs, errors.New("cluster name is required"))
	}
	if o.Config == nil {
		errs = append(errs, errors.New("rest config is required"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("backup store is required"))
	}
	if o.DataDir == "" {
		errs = append(errs, errors.New("data directory is required"))
	}
	if o.RestoreRate < 0 {
		errs = append(errs, fmt.Errorf("restore rate %d is negative", o.RestoreRate))
	}
	if o.BlockSize == 0 {
		o.BlockSize = backupstore.BlockSize2Mi
	}
	if o.BlockSize < 4096 || o.BlockSize&(o.BlockSize-1) != 0 {
		errs = append(errs, fmt.Errorf("block size %d is not a power of two of at least 4096", o.BlockSize))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("longhorn simulator options: %w", err)
	}
	if o.Namespace == "" {
		o.Namespace = longhorn.DefaultNamespace
	}
	if o.PollInterval == 0 {
		o.PollInterval = longhorn.DefaultBackupstorePollInterval
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return nil
}
