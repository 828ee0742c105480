package cluster

import (
	"context"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	longhorn "github.com/drplan/drplan/internal/longhorn"
)

// State is what one cluster shows, read from the caches at one moment.
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
	// Objects are objects of kinds the cache does not hold, read on demand (ReadObjects) for
	// this pass only: the readiness gates of a failover in progress. A ref mapped to nil was
	// not found; a ref that is missing could not be read.
	Objects map[ObjectRef]*unstructured.Unstructured
}

// ManagedByLabel and ManagedByValue select the objects of drplan the cache holds among kinds that
// are not Longhorn's (ConfigMaps, PersistentVolumes, PersistentVolumeClaims), and among
// Snapshots. They equal the
// planner's LabelManagedBy and ManagedByValue (the planner imports this package, not the reverse).
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

// String is Kind namespace/name.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Observed reports whether the state can be trusted: the caches synced and the cluster answers.
func (s *State) Observed() bool { return s != nil && s.Synced && s.Reachable }

// cacheScope is what the cache holds of each kind: Longhorn's kinds in Longhorn's namespace,
// drplan's own ConfigMaps there, drplan's PersistentVolumes and claims anywhere. Every
// Deployment and StatefulSet is cached too (the default scope): failover scales them and gates
// on them.
func cacheScope(longhornNS string) map[client.Object]cache.ByObject {
	ns := nsOnly(longhornNS)
	ours := labels.SelectorFromSet(labels.Set{ManagedByLabel: ManagedByValue})
	return map[client.Object]cache.ByObject{
		&longhorn.Volume{}:              {Namespaces: ns},
		&longhorn.Engine{}:              {Namespaces: ns},
		&longhorn.Backup{}:              {Namespaces: ns},
		&longhorn.BackupVolume{}:        {Namespaces: ns},
		&longhorn.BackupTarget{}:        {Namespaces: ns},
		&longhorn.RecurringJob{}:        {Namespaces: ns},
		&longhorn.Setting{}:             {Namespaces: ns},
		&longhorn.Snapshot{}:            {Namespaces: ns, Label: ours},
		&corev1.ConfigMap{}:             {Namespaces: ns, Label: ours},
		&corev1.PersistentVolume{}:      {Label: ours},
		&corev1.PersistentVolumeClaim{}: {Label: ours},
		&appsv1.Deployment{}:            {},
		&appsv1.StatefulSet{}:           {},
	}
}

// watched are the kinds the cache informs on, started eagerly so the first pass sees them all.
func watched() []client.Object {
	return []client.Object{
		&longhorn.Volume{}, &longhorn.Engine{}, &longhorn.Backup{}, &longhorn.BackupVolume{},
		&longhorn.BackupTarget{}, &longhorn.RecurringJob{}, &longhorn.Setting{}, &longhorn.Snapshot{},
		&appsv1.Deployment{}, &appsv1.StatefulSet{},
		&corev1.ConfigMap{}, &corev1.PersistentVolume{}, &corev1.PersistentVolumeClaim{},
	}
}

// State reads the caches. It makes no API request. Before the caches synced it returns only the
// health, with empty lists.
func (c *Cluster) State(ctx context.Context) (*State, error) {
	s := &State{Name: c.opts.Name, Health: c.Health()}
	if !s.Synced {
		return s, nil
	}
	ns := client.InNamespace(c.opts.LonghornNamespace)
	lists := []struct {
		list client.ObjectList
		opts []client.ListOption
	}{
		{&longhorn.VolumeList{}, []client.ListOption{ns}},
		{&longhorn.EngineList{}, []client.ListOption{ns}},
		{&longhorn.BackupList{}, []client.ListOption{ns}},
		{&longhorn.BackupVolumeList{}, []client.ListOption{ns}},
		{&longhorn.BackupTargetList{}, []client.ListOption{ns}},
		{&longhorn.RecurringJobList{}, []client.ListOption{ns}},
		{&longhorn.SettingList{}, []client.ListOption{ns}},
		{&appsv1.DeploymentList{}, nil},
		{&appsv1.StatefulSetList{}, nil},
		{&corev1.ConfigMapList{}, []client.ListOption{ns}},
		{&corev1.PersistentVolumeList{}, nil},
		{&corev1.PersistentVolumeClaimList{}, nil},
		{&longhorn.SnapshotList{}, []client.ListOption{ns}},
	}
	for _, l := range lists {
		if err := c.cache.List(ctx, l.list, l.opts...); err != nil {
			return nil, fmt.Errorf("cluster %s: read cache: %w", c.opts.Name, err)
		}
	}
	s.Volumes = lists[0].list.(*longhorn.VolumeList).Items
	s.Engines = lists[1].list.(*longhorn.EngineList).Items
	s.Backups = lists[2].list.(*longhorn.BackupList).Items
	s.BackupVolumes = lists[3].list.(*longhorn.BackupVolumeList).Items
	s.BackupTargets = lists[4].list.(*longhorn.BackupTargetList).Items
	s.RecurringJobs = lists[5].list.(*longhorn.RecurringJobList).Items
	s.Settings = lists[6].list.(*longhorn.SettingList).Items
	s.Deployments = lists[7].list.(*appsv1.DeploymentList).Items
	s.StatefulSets = lists[8].list.(*appsv1.StatefulSetList).Items
	s.ConfigMaps = lists[9].list.(*corev1.ConfigMapList).Items
	s.PersistentVolumes = lists[10].list.(*corev1.PersistentVolumeList).Items
	s.PersistentVolumeClaims = lists[11].list.(*corev1.PersistentVolumeClaimList).Items
	s.Snapshots = lists[12].list.(*longhorn.SnapshotList).Items
	return s, nil
}

// ReadObjects reads objects of kinds the cache does not hold, straight from the API server (each
// read is a counted request). The agent does this only for the gates of a failover in progress,
// never in steady state. A ref that does not exist maps to nil; one that could not be read is
// left out, and the first such error is returned with the rest.
func (c *Cluster) ReadObjects(ctx context.Context, refs []ObjectRef) (map[ObjectRef]*unstructured.Unstructured, error) {
	out := make(map[ObjectRef]*unstructured.Unstructured, len(refs))
	var first error
	for _, r := range refs {
		gv, err := schema.ParseGroupVersion(r.APIVersion)
		if err != nil {
			first = firstErr(first, fmt.Errorf("cluster %s: read %s: %w", c.opts.Name, r, err))
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gv.WithKind(r.Kind))
		err = c.client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.Name}, u)
		switch {
		case err == nil:
			out[r] = u
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			out[r] = nil
		default:
			first = firstErr(first, fmt.Errorf("cluster %s: read %s: %w", c.opts.Name, r, err))
		}
	}
	return out, first
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func lazyMapper(cfg *rest.Config, httpClient *http.Client) (meta.RESTMapper, error) {
	return apiutil.NewDynamicRESTMapper(cfg, httpClient)
}
