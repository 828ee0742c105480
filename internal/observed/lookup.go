package observed

import (
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/planstatus"
)

// The lookups below answer from maps built on the first lookup of each kind, in one pass over
// its list: a decision makes a few lookups per volume, and scanning the lists for each would
// make a pass quadratic in volumes × backups. A kind never looked up costs nothing. A lookup by
// name returns the first object of that name in the list (a cluster has one per name; names are
// read in Longhorn's namespace, which is all the cache holds of Longhorn's kinds and
// ConfigMaps). Every lookup returns a pointer into the State's lists, and nil on a nil State.

// index holds the State's maps, each built once.
type index struct {
	volumes       lazy[map[string]*longhorn.Volume]
	engines       lazy[map[string]*longhorn.Engine]
	backups       lazy[map[string]*longhorn.Backup]
	newest        lazy[map[string]*longhorn.Backup]
	backupVolumes lazy[map[string]*longhorn.BackupVolume]
	bvByLabels    lazy[map[bvKey]bvMatches]
	targets       lazy[map[string]*longhorn.BackupTarget]
	jobs          lazy[map[string]*longhorn.RecurringJob]
	settings      lazy[map[string]*longhorn.Setting]
	snapshots     lazy[map[string]*longhorn.Snapshot]
	configMaps    lazy[map[string]*corev1.ConfigMap]
	planStatuses  lazy[map[string]*planstatus.DRPlanStatus]
	pvs           lazy[map[string]*corev1.PersistentVolume]
	pvcs          lazy[map[types.NamespacedName]*corev1.PersistentVolumeClaim]
	deployments   lazy[map[types.NamespacedName]*appsv1.Deployment]
	statefulSets  lazy[map[types.NamespacedName]*appsv1.StatefulSet]
}

// lazy is a value built on first use, once, safely from several goroutines.
type lazy[T any] struct {
	once sync.Once
	v    T
}

func (l *lazy[T]) get(build func() T) T {
	l.once.Do(func() { l.v = build() })
	return l.v
}

// bvKey is what Longhorn finds a BackupVolume by: its backup-target and backup-volume labels.
type bvKey struct{ target, volume string }

// bvMatches are the first two BackupVolumes of one bvKey, in list order.
type bvMatches struct{ first, second *longhorn.BackupVolume }

// byKey maps each item by key, the first one winning.
func byKey[T any, K comparable](items []T, key func(*T) K) map[K]*T {
	m := make(map[K]*T, len(items))
	for i := len(items) - 1; i >= 0; i-- {
		m[key(&items[i])] = &items[i]
	}
	return m
}

func nsName(namespace, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: namespace, Name: name}
}

// Volume returns the Longhorn volume named name, or nil.
func (s *State) Volume(name string) *longhorn.Volume {
	if s == nil {
		return nil
	}
	return s.ix.volumes.get(func() map[string]*longhorn.Volume {
		return byKey(s.Volumes, func(v *longhorn.Volume) string { return v.Name })
	})[name]
}

// ActiveEngine returns the engine of volume: the one labelled LabelLonghornVolume=volume (or
// with spec.volumeName=volume), the first with spec.active when there are several, else the
// first (REFERENCE §2.2). It returns nil when there is none.
func (s *State) ActiveEngine(volume string) *longhorn.Engine {
	if s == nil {
		return nil
	}
	return s.ix.engines.get(s.activeEngines)[volume]
}

func (s *State) activeEngines() map[string]*longhorn.Engine {
	m := make(map[string]*longhorn.Engine, len(s.Engines))
	add := func(volume string, e *longhorn.Engine) {
		if cur := m[volume]; cur == nil || (e.Spec.Active && !cur.Spec.Active) {
			m[volume] = e
		}
	}
	for i := range s.Engines {
		e := &s.Engines[i]
		byLabel := e.Labels[longhorn.LabelLonghornVolume]
		add(byLabel, e)
		if e.Spec.VolumeName != byLabel {
			add(e.Spec.VolumeName, e)
		}
	}
	return m
}

// Backup returns the backup named name, or nil (also for the empty name).
func (s *State) Backup(name string) *longhorn.Backup {
	if s == nil || name == "" {
		return nil
	}
	return s.ix.backups.get(func() map[string]*longhorn.Backup {
		return byKey(s.Backups, func(b *longhorn.Backup) string { return b.Name })
	})[name]
}

// NewestCompletedBackup returns the newest completed backup of volume that a standby can be
// created from (Backup.Usable: not one still being written, listed with an empty state, nor one
// whose block size Longhorn could not read), by its name in the store
// (Backup.BackupVolumeName), whatever its backup target: by snapshot time, then upload time,
// then name (longhorn.BackupNewer); nil when there is none.
func (s *State) NewestCompletedBackup(volume string) *longhorn.Backup {
	if s == nil {
		return nil
	}
	return s.ix.newest.get(s.newestBackups)[volume]
}

func (s *State) newestBackups() map[string]*longhorn.Backup {
	m := make(map[string]*longhorn.Backup, max(len(s.Volumes), len(s.BackupVolumes)))
	for i := range s.Backups {
		b := &s.Backups[i]
		if !b.Usable() {
			continue
		}
		v := b.BackupVolumeName()
		if cur := m[v]; cur == nil || longhorn.BackupNewer(b, cur) {
			m[v] = b
		}
	}
	return m
}

// BackupVolume returns the BackupVolume CR named name, or nil.
func (s *State) BackupVolume(name string) *longhorn.BackupVolume {
	if s == nil {
		return nil
	}
	return s.ix.backupVolumes.get(func() map[string]*longhorn.BackupVolume {
		return byKey(s.BackupVolumes, func(bv *longhorn.BackupVolume) string { return bv.Name })
	})[name]
}

// BackupVolumeOf returns the BackupVolume of volume (its name in the store) in backup target
// target, found by its labels as Longhorn does, or nil. More than one match is an error, as in
// Longhorn, where it stalls the volume's sync (REFERENCE §3.2).
func (s *State) BackupVolumeOf(target, volume string) (*longhorn.BackupVolume, error) {
	if s == nil {
		return nil, nil
	}
	found := s.ix.bvByLabels.get(s.backupVolumesByLabels)[bvKey{target, volume}]
	if found.second != nil {
		return nil, longhorn.DuplicateBackupVolumeError(target, volume, found.first.Name, found.second.Name)
	}
	return found.first, nil
}

func (s *State) backupVolumesByLabels() map[bvKey]bvMatches {
	m := make(map[bvKey]bvMatches, len(s.BackupVolumes))
	for i := range s.BackupVolumes {
		bv := &s.BackupVolumes[i]
		k := bvKey{bv.Labels[longhorn.LabelBackupTarget], bv.Labels[longhorn.LabelBackupVolume]}
		switch cur := m[k]; {
		case cur.first == nil:
			m[k] = bvMatches{first: bv}
		case cur.second == nil:
			m[k] = bvMatches{first: cur.first, second: bv}
		}
	}
	return m
}

// BackupTarget returns the BackupTarget named name, or nil.
func (s *State) BackupTarget(name string) *longhorn.BackupTarget {
	if s == nil {
		return nil
	}
	return s.ix.targets.get(func() map[string]*longhorn.BackupTarget {
		return byKey(s.BackupTargets, func(t *longhorn.BackupTarget) string { return t.Name })
	})[name]
}

// RecurringJob returns the RecurringJob named name, or nil.
func (s *State) RecurringJob(name string) *longhorn.RecurringJob {
	if s == nil {
		return nil
	}
	return s.ix.jobs.get(func() map[string]*longhorn.RecurringJob {
		return byKey(s.RecurringJobs, func(j *longhorn.RecurringJob) string { return j.Name })
	})[name]
}

// Setting returns Longhorn's setting named name, or nil.
func (s *State) Setting(name string) *longhorn.Setting {
	if s == nil {
		return nil
	}
	return s.ix.settings.get(func() map[string]*longhorn.Setting {
		return byKey(s.Settings, func(st *longhorn.Setting) string { return st.Name })
	})[name]
}

// Snapshot returns drplan's Snapshot CR named name, or nil.
func (s *State) Snapshot(name string) *longhorn.Snapshot {
	if s == nil {
		return nil
	}
	return s.ix.snapshots.get(func() map[string]*longhorn.Snapshot {
		return byKey(s.Snapshots, func(sn *longhorn.Snapshot) string { return sn.Name })
	})[name]
}

// ConfigMap returns drplan's ConfigMap named name (in Longhorn's namespace), or nil.
func (s *State) ConfigMap(name string) *corev1.ConfigMap {
	if s == nil {
		return nil
	}
	return s.ix.configMaps.get(func() map[string]*corev1.ConfigMap {
		return byKey(s.ConfigMaps, func(cm *corev1.ConfigMap) string { return cm.Name })
	})[name]
}

// PlanStatus returns drplan's status object named name (in Longhorn's namespace), or nil.
func (s *State) PlanStatus(name string) *planstatus.DRPlanStatus {
	if s == nil {
		return nil
	}
	return s.ix.planStatuses.get(func() map[string]*planstatus.DRPlanStatus {
		return byKey(s.PlanStatuses, func(p *planstatus.DRPlanStatus) string { return p.Name })
	})[name]
}

// PersistentVolume returns drplan's PersistentVolume named name, or nil.
func (s *State) PersistentVolume(name string) *corev1.PersistentVolume {
	if s == nil {
		return nil
	}
	return s.ix.pvs.get(func() map[string]*corev1.PersistentVolume {
		return byKey(s.PersistentVolumes, func(pv *corev1.PersistentVolume) string { return pv.Name })
	})[name]
}

// PersistentVolumeClaim returns drplan's PersistentVolumeClaim namespace/name, or nil.
func (s *State) PersistentVolumeClaim(namespace, name string) *corev1.PersistentVolumeClaim {
	if s == nil {
		return nil
	}
	return s.ix.pvcs.get(func() map[types.NamespacedName]*corev1.PersistentVolumeClaim {
		return byKey(s.PersistentVolumeClaims, func(c *corev1.PersistentVolumeClaim) types.NamespacedName { return nsName(c.Namespace, c.Name) })
	})[nsName(namespace, name)]
}

// Deployment returns the Deployment namespace/name, or nil.
func (s *State) Deployment(namespace, name string) *appsv1.Deployment {
	if s == nil {
		return nil
	}
	return s.ix.deployments.get(func() map[types.NamespacedName]*appsv1.Deployment {
		return byKey(s.Deployments, func(d *appsv1.Deployment) types.NamespacedName { return nsName(d.Namespace, d.Name) })
	})[nsName(namespace, name)]
}

// StatefulSet returns the StatefulSet namespace/name, or nil.
func (s *State) StatefulSet(namespace, name string) *appsv1.StatefulSet {
	if s == nil {
		return nil
	}
	return s.ix.statefulSets.get(func() map[types.NamespacedName]*appsv1.StatefulSet {
		return byKey(s.StatefulSets, func(st *appsv1.StatefulSet) types.NamespacedName { return nsName(st.Namespace, st.Name) })
	})[nsName(namespace, name)]
}
