package observed

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planstatus"
)

// State is what one cluster shows, read from the caches at one moment. Its lookups (Volume,
// NewestCompletedBackup, ...) index a list on its first lookup: a list must not change after
// that. A State is used by pointer, never copied.
type State struct {
	// Name is the cluster's name.
	Name string
	Health

	Volumes       []longhorn.Volume
	Engines       []longhorn.Engine
	Backups       []longhorn.Backup
	BackupVolumes []longhorn.BackupVolume
	BackupTargets []longhorn.BackupTarget
	RecurringJobs []longhorn.RecurringJob
	Settings      []longhorn.Setting
	Deployments   []appsv1.Deployment
	StatefulSets  []appsv1.StatefulSet
	// Snapshots are drplan's own Snapshot CRs (labelled ManagedByLabel=ManagedByValue): the
	// final snapshots of a planned switchover. The cache holds no other.
	Snapshots []longhorn.Snapshot
	// ConfigMaps are drplan's own ConfigMaps in Longhorn's namespace (labelled
	// ManagedByLabel=ManagedByValue): the failover records.
	ConfigMaps []corev1.ConfigMap
	// PersistentVolumes and PersistentVolumeClaims are the ones drplan created on failover
	// (labelled ManagedByLabel=ManagedByValue); the cache holds no other.
	PersistentVolumes      []corev1.PersistentVolume
	PersistentVolumeClaims []corev1.PersistentVolumeClaim
	// PlanStatuses are drplan's status objects in Longhorn's namespace; PlanStatusesKnown is
	// false while they cannot be read (the DRPlanStatus CRD is not installed, or its cache has
	// not synced): then none is written.
	PlanStatuses      []planstatus.DRPlanStatus
	PlanStatusesKnown bool
	// Objects are objects of kinds the cache does not hold, read on demand for this pass only:
	// the readiness gates of a failover in progress. A ref mapped to nil was not found; a ref
	// that is missing could not be read.
	Objects map[ObjectRef]*unstructured.Unstructured
	// GateResults are the CEL gates of a failover in progress, evaluated on Objects by the
	// agent (with Flux's health-check evaluator) for this pass only. A gate missing was not
	// evaluated.
	GateResults map[GateKey]GateResult
	// Namespaced says, for the kinds of the manifests of a drill under way, whether each is
	// namespaced, as the API server's discovery has it (read by the agent for this pass only). A
	// kind missing is unknown to the cluster: a drill applies none of its objects.
	Namespaced map[Kind]bool

	// ix indexes the lists for the lookups (lookup.go).
	ix index
}

// Health is the reachability part of State.
type Health struct {
	// Synced is true once every cache has listed its kind.
	Synced bool
	// Reachable is false while the API server does not answer.
	Reachable bool
	// DownSince is when it stopped answering.
	DownSince time.Time
	// Err is the last error seen while it does not answer.
	Err string
}

// ManagedByLabel and ManagedByValue select the objects of drplan the caches hold among kinds
// that are not Longhorn's (ConfigMaps, PersistentVolumes, PersistentVolumeClaims), and among
// Snapshots. They equal the planner's LabelManagedBy and ManagedByValue.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "drplan"
)

// ObjectRef names one object of any kind.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Namespace is empty for a cluster-scoped object.
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// Kind is an API version and kind.
type Kind struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

func (k Kind) String() string { return k.APIVersion + " " + k.Kind }

// GateKey names a CEL gate: its object and its expressions.
type GateKey struct {
	Ref                         ObjectRef
	Current, Failed, InProgress string
}

// GateResult is a CEL gate's kstatus status (Current, InProgress, Failed) and, when it could
// not be evaluated, why.
type GateResult struct {
	Status  string
	Message string
}

// String is Kind namespace/name.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Observed reports whether the state can be trusted: the caches synced and the cluster answers.
func (s *State) Observed() bool { return s != nil && s.Synced && s.Reachable }
