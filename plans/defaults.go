package plans

import (
	"fmt"
	"time"
)

// Default values, as documented on the fields they fill.
const (
	DefaultBackupTarget     = "default"
	DefaultWaveName         = "default"
	DefaultRetain           = 10
	DefaultConcurrency      = 1
	DefaultReplicas         = 3
	DefaultStorageClassName = "longhorn"
	DefaultFSType           = "ext4"
	DefaultGateTimeout      = 10 * time.Minute
	DefaultCatchUpTimeout   = 10 * time.Minute
	DefaultApplyTimeout     = 10 * time.Minute
	DefaultHookTimeout      = time.Minute
	DefaultSnapshotTimeout  = 2 * time.Minute
	// DefaultDrillKeepFor is how long a drill's objects stay after it ended.
	DefaultDrillKeepFor    = time.Hour
	DefaultJobBackoffLimit = 2
)

// defaultAPIVersions are the API versions of the kinds a gate or a scale target may leave
// without one.
var defaultAPIVersions = map[string]string{
	"Deployment":            "apps/v1",
	"StatefulSet":           "apps/v1",
	"DaemonSet":             "apps/v1",
	"ReplicaSet":            "apps/v1",
	"Job":                   "batch/v1",
	"Pod":                   "v1",
	"Service":               "v1",
	"PersistentVolumeClaim": "v1",
}

// scalableKinds are the built-in kinds with a scale subresource.
var scalableKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "ReplicaSet": true}

// SetDefaults fills every field the plan leaves empty that has a default. It is the only place
// defaults are applied; it is idempotent and never overwrites a value that is set. It is for
// plans built in Go, where a field is left out by leaving it zero; the loader applies the same
// defaults to the fields a document left out only, so that a number or a duration written as 0
// stays 0 and fails validation instead of being replaced.
func SetDefaults(p *DRPlan) { setDefaults(p, nothingWritten) }

// fieldsWritten reports whether a plan's document wrote the field at path
// (spec.volumes[0].replicas) with a value. Defaults fill only fields that were not written.
type fieldsWritten func(path string) bool

// nothingWritten is the fieldsWritten of a plan built in Go: a zero value means left out.
func nothingWritten(string) bool { return false }

// setDefaults applies the defaults to the fields of p that are empty and were not written. A
// string or a list is empty when left out or written empty; a number or a duration written
// as 0 is a value, which validation checks against its range.
func setDefaults(p *DRPlan, written fieldsWritten) {
	s := &p.Spec
	if s.BackupTarget == "" {
		s.BackupTarget = DefaultBackupTarget
	}
	if s.Schedule.Retain == 0 && !written("spec.schedule.retain") {
		s.Schedule.Retain = DefaultRetain
	}
	if s.Schedule.Concurrency == 0 && !written("spec.schedule.concurrency") {
		s.Schedule.Concurrency = DefaultConcurrency
	}
	if s.Schedule.Consistency == "" {
		s.Schedule.Consistency = CrashConsistent
	}
	if len(s.Waves) == 0 {
		s.Waves = []Wave{{Name: DefaultWaveName}}
	}
	if s.Traffic != nil {
		defaultApply(s.Traffic, "spec.traffic", written)
	}
	if s.StaleVolumes == "" {
		s.StaleVolumes = StaleKeep
	}
	if d := s.Drill; d != nil && d.KeepFor.Duration == 0 && !written("spec.drill.keepFor") {
		d.KeepFor.Duration = DefaultDrillKeepFor
	}
	for i := range s.Waves {
		w := &s.Waves[i]
		if w.Apply != nil {
			defaultApply(w.Apply, fmt.Sprintf("spec.waves[%d].apply", i), written)
		}
		if h := w.BackupHooks; h != nil {
			if h.SnapshotTimeout.Duration == 0 && !written(fmt.Sprintf("spec.waves[%d].backupHooks.snapshotTimeout", i)) {
				h.SnapshotTimeout.Duration = DefaultSnapshotTimeout
			}
			defaultHooks(h.Pre, fmt.Sprintf("spec.waves[%d].backupHooks.pre", i), "pre", written)
			defaultHooks(h.Post, fmt.Sprintf("spec.waves[%d].backupHooks.post", i), "post", written)
		}
		for j := range s.Waves[i].Gates {
			g := &s.Waves[i].Gates[j]
			if g.APIVersion == "" {
				g.APIVersion = defaultAPIVersions[g.Kind]
			}
			if g.Timeout.Duration == 0 && !written(fmt.Sprintf("spec.waves[%d].gates[%d].timeout", i, j)) {
				g.Timeout.Duration = DefaultGateTimeout
			}
			if g.Job != nil && g.Job.BackoffLimit == 0 && !written(fmt.Sprintf("spec.waves[%d].gates[%d].job.backoffLimit", i, j)) {
				g.Job.BackoffLimit = DefaultJobBackoffLimit
			}
		}
		for j := range s.Waves[i].Scale {
			sc := &s.Waves[i].Scale[j]
			if sc.APIVersion == "" && scalableKinds[sc.Kind] {
				sc.APIVersion = defaultAPIVersions[sc.Kind]
			}
		}
	}
	for i := range s.Volumes {
		v := &s.Volumes[i]
		if v.StandbyName == "" {
			v.StandbyName = v.Name
		}
		if v.Replicas == 0 && !written(fmt.Sprintf("spec.volumes[%d].replicas", i)) {
			v.Replicas = DefaultReplicas
		}
		if v.Wave == "" {
			v.Wave = s.Waves[0].Name
		}
		if v.PVC != nil && v.PV == nil {
			v.PV = &PersistentVolume{}
		}
		if pv := v.PV; pv != nil {
			if pv.Name == "" {
				pv.Name = v.StandbyName
			}
			if pv.StorageClassName == "" {
				pv.StorageClassName = DefaultStorageClassName
			}
			if pv.FSType == "" {
				pv.FSType = DefaultFSType
			}
			if len(pv.AccessModes) == 0 {
				pv.AccessModes = []AccessMode{ReadWriteOnce}
			}
		}
	}
	if s.Activation.CatchUpTimeout.Duration == 0 && !written("spec.activation.catchUpTimeout") {
		s.Activation.CatchUpTimeout.Duration = DefaultCatchUpTimeout
	}
}

func defaultApply(a *Apply, path string, written fieldsWritten) {
	if a.Timeout.Duration == 0 && !written(path+".timeout") {
		a.Timeout.Duration = DefaultApplyTimeout
	}
}

func defaultHooks(hooks []Hook, path, prefix string, written fieldsWritten) {
	for i := range hooks {
		h := &hooks[i]
		if h.Name == "" {
			h.Name = fmt.Sprintf("%s-%d", prefix, i)
		}
		if h.OnError == "" {
			h.OnError = HookFail
		}
		if h.Timeout.Duration == 0 && !written(fmt.Sprintf("%s[%d].timeout", path, i)) {
			h.Timeout.Duration = DefaultHookTimeout
		}
		if w := h.ScaleToZero; w != nil && w.APIVersion == "" && scalableKinds[w.Kind] {
			w.APIVersion = defaultAPIVersions[w.Kind]
		}
	}
}
