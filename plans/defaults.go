package plans

import "time"

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
// defaults are applied; it is idempotent and never overwrites a value that is set.
func SetDefaults(p *DRPlan) {
	s := &p.Spec
	if s.BackupTarget == "" {
		s.BackupTarget = DefaultBackupTarget
	}
	if s.Schedule.Retain == 0 {
		s.Schedule.Retain = DefaultRetain
	}
	if s.Schedule.Concurrency == 0 {
		s.Schedule.Concurrency = DefaultConcurrency
	}
	if len(s.Waves) == 0 {
		s.Waves = []Wave{{Name: DefaultWaveName}}
	}
	for i := range s.Waves {
		for j := range s.Waves[i].Gates {
			g := &s.Waves[i].Gates[j]
			if g.APIVersion == "" {
				g.APIVersion = defaultAPIVersions[g.Kind]
			}
			if g.Timeout.Duration == 0 {
				g.Timeout.Duration = DefaultGateTimeout
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
		if v.Replicas == 0 {
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
	if s.Activation.CatchUpTimeout.Duration == 0 {
		s.Activation.CatchUpTimeout.Duration = DefaultCatchUpTimeout
	}
}
