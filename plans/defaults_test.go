package plans

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestSetDefaults(t *testing.T) {
	minutes := func(n int) Duration { return Duration{Duration: time.Duration(n) * time.Minute} }
	tests := []struct {
		name string
		in   Spec
		want Spec
	}{
		{
			name: "minimal plan",
			in:   Spec{Volumes: []Volume{{Name: "pg"}}},
			want: Spec{
				BackupTarget: "default",
				Schedule:     Schedule{Retain: 10, Concurrency: 1, Consistency: CrashConsistent},
				Volumes:      []Volume{{Name: "pg", StandbyName: "pg", Replicas: 3, Wave: "default"}},
				Waves:        []Wave{{Name: "default"}},
				Activation:   Activation{CatchUpTimeout: minutes(10)}, StaleVolumes: StaleKeep,
			},
		},
		{
			name: "values that are set stay",
			in: Spec{
				BackupTarget: "s3", Schedule: Schedule{Retain: 2, Concurrency: 5},
				Volumes: []Volume{{Name: "pg", StandbyName: "pg-dr", Replicas: 1, Wave: "b",
					PV: &PersistentVolume{Name: "pv", StorageClassName: "longhorn-static", FSType: "xfs", AccessModes: []AccessMode{ReadWriteMany}}}},
				Waves:      []Wave{{Name: "a"}, {Name: "b", Gates: []Gate{{APIVersion: "apps/v1beta1", Kind: "Deployment", Timeout: minutes(1)}}}},
				Activation: Activation{AllowDegraded: true, CatchUpTimeout: minutes(3)}, StaleVolumes: StaleKeep,
			},
			want: Spec{
				BackupTarget: "s3", Schedule: Schedule{Retain: 2, Concurrency: 5, Consistency: CrashConsistent},
				Volumes: []Volume{{Name: "pg", StandbyName: "pg-dr", Replicas: 1, Wave: "b",
					PV: &PersistentVolume{Name: "pv", StorageClassName: "longhorn-static", FSType: "xfs", AccessModes: []AccessMode{ReadWriteMany}}}},
				Waves:      []Wave{{Name: "a"}, {Name: "b", Gates: []Gate{{APIVersion: "apps/v1beta1", Kind: "Deployment", Timeout: minutes(1)}}}},
				Activation: Activation{AllowDegraded: true, CatchUpTimeout: minutes(3)}, StaleVolumes: StaleKeep,
			},
		},
		{
			name: "a claim implies a PersistentVolume named after the standby volume",
			in: Spec{
				Volumes: []Volume{{Name: "pg", StandbyName: "pg-dr", PVC: &PersistentVolumeClaim{Namespace: "ns", Name: "data"}}},
				Waves:   []Wave{{Name: "first"}, {Name: "second"}},
			},
			want: Spec{
				BackupTarget: "default", Schedule: Schedule{Retain: 10, Concurrency: 1, Consistency: CrashConsistent},
				Volumes: []Volume{{Name: "pg", StandbyName: "pg-dr", Replicas: 3, Wave: "first",
					PV:  &PersistentVolume{Name: "pg-dr", StorageClassName: "longhorn", FSType: "ext4", AccessModes: []AccessMode{ReadWriteOnce}},
					PVC: &PersistentVolumeClaim{Namespace: "ns", Name: "data"}}},
				Waves:      []Wave{{Name: "first"}, {Name: "second"}},
				Activation: Activation{CatchUpTimeout: minutes(10)}, StaleVolumes: StaleKeep,
			},
		},
		{
			name: "gate and scale apiVersions of built-in kinds",
			in: Spec{Waves: []Wave{{Name: "w",
				Gates: []Gate{{Kind: "StatefulSet"}, {Kind: "Job"}, {Kind: "Service"}, {Kind: "Cluster"}},
				Scale: []Scale{{Kind: "Deployment"}, {Kind: "Job"}, {Kind: "Rollout"}},
			}}},
			want: Spec{
				BackupTarget: "default", Schedule: Schedule{Retain: 10, Concurrency: 1, Consistency: CrashConsistent},
				Waves: []Wave{{Name: "w",
					Gates: []Gate{
						{APIVersion: "apps/v1", Kind: "StatefulSet", Timeout: minutes(10)},
						{APIVersion: "batch/v1", Kind: "Job", Timeout: minutes(10)},
						{APIVersion: "v1", Kind: "Service", Timeout: minutes(10)},
						{Kind: "Cluster", Timeout: minutes(10)},
					},
					// A Job has no scale subresource: it gets no default, and validation asks for one.
					Scale: []Scale{{APIVersion: "apps/v1", Kind: "Deployment"}, {Kind: "Job"}, {Kind: "Rollout"}},
				}},
				Activation: Activation{CatchUpTimeout: minutes(10)}, StaleVolumes: StaleKeep,
			},
		},
		{
			name: "hooks, manifests, a Job gate and traffic",
			in: Spec{
				Schedule: Schedule{Consistency: ApplicationConsistent},
				Waves: []Wave{{Name: "db",
					Gates: []Gate{{Kind: "Job", Namespace: "shop", Name: "ready", Job: &JobGate{Image: "pg", Command: []string{"pg_isready"}}}},
					Apply: &Apply{Path: "crds"},
					BackupHooks: &BackupHooks{
						Pre:  []Hook{{Exec: &ExecHook{Namespace: "shop"}}, {Name: "down", ScaleToZero: &WorkloadRef{Kind: "StatefulSet"}, OnError: HookContinue, Timeout: minutes(2)}},
						Post: []Hook{{Exec: &ExecHook{Namespace: "shop"}}},
					},
				}},
				Traffic: &Apply{Path: "traffic", Timeout: minutes(1)},
			},
			want: Spec{
				BackupTarget: "default", Schedule: Schedule{Retain: 10, Concurrency: 1, Consistency: ApplicationConsistent},
				Waves: []Wave{{Name: "db",
					Gates: []Gate{{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "ready", Timeout: minutes(10),
						Job: &JobGate{Image: "pg", Command: []string{"pg_isready"}, BackoffLimit: 2}}},
					Apply: &Apply{Path: "crds", Timeout: minutes(10)},
					BackupHooks: &BackupHooks{
						Pre: []Hook{
							{Name: "pre-0", Exec: &ExecHook{Namespace: "shop"}, OnError: HookFail, Timeout: minutes(1)},
							{Name: "down", ScaleToZero: &WorkloadRef{APIVersion: "apps/v1", Kind: "StatefulSet"}, OnError: HookContinue, Timeout: minutes(2)},
						},
						Post:            []Hook{{Name: "post-0", Exec: &ExecHook{Namespace: "shop"}, OnError: HookFail, Timeout: minutes(1)}},
						SnapshotTimeout: minutes(2),
					},
				}},
				Activation: Activation{CatchUpTimeout: minutes(10)}, StaleVolumes: StaleKeep,
				Traffic: &Apply{Path: "traffic", Timeout: minutes(1)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p := &DRPlan{Spec: tt.in}
			SetDefaults(p)
			g.Expect(p.Spec).To(Equal(tt.want))
			SetDefaults(p)
			g.Expect(p.Spec).To(Equal(tt.want), "SetDefaults must be idempotent")
		})
	}
}
