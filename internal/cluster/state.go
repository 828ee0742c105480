package cluster

import (
	"context"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
)

// watchedKind is one kind the cache holds: an object and a list of it, where the cache holds it,
// and where its items go in the State.
type watchedKind struct {
	obj     client.Object
	newList func() client.ObjectList
	scope   scope
	store   func(*observed.State, client.ObjectList)
}

// scope is where the cache holds a kind.
type scope struct {
	// inLonghornNS: only in Longhorn's namespace (else in every namespace, or cluster-scoped).
	inLonghornNS bool
	// ours: only drplan's own objects (labelled ManagedByLabel=ManagedByValue).
	ours bool
}

var (
	inLonghornNS     = scope{inLonghornNS: true}
	oursInLonghornNS = scope{inLonghornNS: true, ours: true}
	oursAnywhere     = scope{ours: true}
	everywhere       = scope{}
)

// kind is a row of watchedKinds: obj, listed as a PL, whose items store puts into the State.
func kind[L any, PL interface {
	*L
	client.ObjectList
}](obj client.Object, sc scope, store func(*observed.State, PL)) watchedKind {
	return watchedKind{obj: obj, newList: func() client.ObjectList { return PL(new(L)) }, scope: sc,
		store: func(s *observed.State, l client.ObjectList) { store(s, l.(PL)) }}
}

// watchedKinds are the kinds the cache holds, and what of each: Longhorn's kinds in Longhorn's
// namespace, drplan's own Snapshots and ConfigMaps there, drplan's PersistentVolumes and claims
// anywhere. Every Deployment and StatefulSet is cached too: failover scales them and gates on
// them.
func watchedKinds() []watchedKind {
	type st = observed.State
	return []watchedKind{
		kind(&longhorn.Volume{}, inLonghornNS, func(s *st, l *longhorn.VolumeList) { s.Volumes = l.Items }),
		kind(&longhorn.Engine{}, inLonghornNS, func(s *st, l *longhorn.EngineList) { s.Engines = l.Items }),
		kind(&longhorn.Backup{}, inLonghornNS, func(s *st, l *longhorn.BackupList) { s.Backups = l.Items }),
		kind(&longhorn.BackupVolume{}, inLonghornNS, func(s *st, l *longhorn.BackupVolumeList) { s.BackupVolumes = l.Items }),
		kind(&longhorn.BackupTarget{}, inLonghornNS, func(s *st, l *longhorn.BackupTargetList) { s.BackupTargets = l.Items }),
		kind(&longhorn.RecurringJob{}, inLonghornNS, func(s *st, l *longhorn.RecurringJobList) { s.RecurringJobs = l.Items }),
		kind(&longhorn.Setting{}, inLonghornNS, func(s *st, l *longhorn.SettingList) { s.Settings = l.Items }),
		kind(&longhorn.Snapshot{}, oursInLonghornNS, func(s *st, l *longhorn.SnapshotList) { s.Snapshots = l.Items }),
		kind(&appsv1.Deployment{}, everywhere, func(s *st, l *appsv1.DeploymentList) { s.Deployments = l.Items }),
		kind(&appsv1.StatefulSet{}, everywhere, func(s *st, l *appsv1.StatefulSetList) { s.StatefulSets = l.Items }),
		kind(&corev1.ConfigMap{}, oursInLonghornNS, func(s *st, l *corev1.ConfigMapList) { s.ConfigMaps = l.Items }),
		kind(&corev1.PersistentVolume{}, oursAnywhere, func(s *st, l *corev1.PersistentVolumeList) { s.PersistentVolumes = l.Items }),
		kind(&corev1.PersistentVolumeClaim{}, oursAnywhere, func(s *st, l *corev1.PersistentVolumeClaimList) { s.PersistentVolumeClaims = l.Items }),
	}
}

// cacheScope is what the cache holds of each watched kind.
func cacheScope(longhornNS string) map[client.Object]cache.ByObject {
	ns := nsOnly(longhornNS)
	ours := oursSelector()
	out := map[client.Object]cache.ByObject{}
	for _, k := range watchedKinds() {
		var by cache.ByObject
		if k.scope.inLonghornNS {
			by.Namespaces = ns
		}
		if k.scope.ours {
			by.Label = ours
		}
		out[k.obj] = by
	}
	return out
}

// UsedEverywhere are CachedEverywhere and the cluster-scoped kinds the agent reads and writes
// without a cache: a drill's Namespace. Permissions on them are checked cluster-wide.
func UsedEverywhere() []schema.GroupResource {
	return append(CachedEverywhere(), schema.GroupResource{Resource: "namespaces"})
}

// CachedEverywhere are the resources the caches list and watch in every namespace, or cluster-scoped
// without one (Deployments, StatefulSets, PersistentVolumes and claims): the agent acts on them
// wherever they are, so the permissions it needs on them are needed cluster-wide.
func CachedEverywhere() []schema.GroupResource {
	var out []schema.GroupResource
	for _, k := range watchedKinds() {
		if k.scope.inLonghornNS {
			continue
		}
		gvk, err := apiutil.GVKForObject(k.obj, Scheme)
		if err != nil {
			continue // every watched kind is in Scheme: TestCachedEverywhere
		}
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		out = append(out, plural.GroupResource())
	}
	return out
}

// watched are the kinds the cache informs on, started eagerly so the first pass sees them all.
func watched() []client.Object {
	var out []client.Object
	for _, k := range watchedKinds() {
		out = append(out, k.obj)
	}
	return out
}

// State reads the caches. It makes no API request. Before the caches synced it returns only the
// health, with empty lists.
//
// The objects are not deep-copied out of the cache (a quarter of a busy agent's CPU went into
// those copies): their maps and slices are the cache's own. The State is read-only, as the
// observed package says; the informers replace objects, never change them in place, so a
// State read once stays consistent while the caches move on.
func (c *Cluster) State(ctx context.Context) (*observed.State, error) {
	s := &observed.State{Name: c.opts.Name, Health: c.Health()}
	if !s.Synced {
		return s, nil
	}
	for _, k := range watchedKinds() {
		l := k.newList()
		opts := []client.ListOption{client.UnsafeDisableDeepCopy}
		if k.scope.inLonghornNS {
			opts = append(opts, client.InNamespace(c.opts.LonghornNamespace))
		}
		if err := c.cache.List(ctx, l, opts...); err != nil {
			return nil, fmt.Errorf("cluster %s: read cache: %w", c.opts.Name, err)
		}
		k.store(s, l)
	}
	if err := c.readPlanStatuses(ctx, s); err != nil {
		return nil, fmt.Errorf("cluster %s: read status objects: %w", c.opts.Name, err)
	}
	return s, nil
}

// ReadObjects reads objects of kinds the cache does not hold, straight from the API server (each
// read is a counted request). The agent does this only for the gates of a failover in progress,
// never in steady state. A ref that does not exist maps to nil; one that could not be read is
// left out, and the first such error is returned with the rest.
func (c *Cluster) ReadObjects(ctx context.Context, refs []observed.ObjectRef) (map[observed.ObjectRef]*unstructured.Unstructured, error) {
	out := make(map[observed.ObjectRef]*unstructured.Unstructured, len(refs))
	var first error
	for _, r := range refs {
		gv, err := schema.ParseGroupVersion(r.APIVersion)
		if err != nil {
			first = firstErr(first, fmt.Errorf("cluster %s: read %s: %w", c.opts.Name, r, err))
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gv.WithKind(r.Kind))
		ns := r.Namespace
		if ns == "" {
			// A namespaced object written without a namespace is applied to default.
			if namespaced, nsErr := c.client.IsObjectNamespaced(u); nsErr == nil && namespaced {
				ns = metav1.NamespaceDefault
			}
		}
		err = c.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: r.Name}, u)
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

// Namespaced says for each kind whether its objects are namespaced, from the API server's
// discovery (cached by the client's REST mapper). A kind the cluster does not serve is left out;
// any other failure to ask is returned with the rest.
func (c *Cluster) Namespaced(kinds []observed.Kind) (map[observed.Kind]bool, error) {
	out := make(map[observed.Kind]bool, len(kinds))
	var first error
	for _, k := range kinds {
		gv, err := schema.ParseGroupVersion(k.APIVersion)
		if err != nil {
			first = firstErr(first, fmt.Errorf("cluster %s: scope of %s: %w", c.opts.Name, k, err))
			continue
		}
		namespaced, err := c.client.IsObjectNamespaced(&metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: gv.String(), Kind: k.Kind}})
		switch {
		case err == nil:
			out[k] = namespaced
		case meta.IsNoMatchError(err):
		default:
			first = firstErr(first, fmt.Errorf("cluster %s: scope of %s: %w", c.opts.Name, k, err))
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
