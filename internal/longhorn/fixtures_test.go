package longhorn_test

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

// fixtureTime is a fixed instant with second precision, as the API server keeps times.
var fixtureTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func mtime(offset time.Duration) *metav1.Time {
	t := metav1.NewTime(fixtureTime.Add(offset))
	return &t
}

func ts(offset time.Duration) longhorn.Timestamp {
	return longhorn.NewTimestamp(fixtureTime.Add(offset))
}

const (
	fixtureTarget = "s3://backupbucket@us-east-1/backupstore"
	fixtureBackup = "backup-b69a1249e97f4a27"
	fixtureVolume = "pg-data"
)

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: longhorn.DefaultNamespace}
}

// fixtures returns one object of every kind with every declared field set to a non-zero value,
// so that a round trip or a golden file covers the whole typed view.
func fixtures() []client.Object {
	url := fixtureTarget + "?backup=" + fixtureBackup + "&volume=" + fixtureVolume
	vol := &longhorn.Volume{
		ObjectMeta: meta(fixtureVolume),
		Spec: longhorn.VolumeSpec{
			Size:             2147483648,
			Frontend:         longhorn.VolumeFrontendBlockDev,
			FromBackup:       url,
			Standby:          true,
			BackupTargetName: longhorn.DefaultBackupTargetName,
			NumberOfReplicas: 3,
			AccessMode:       longhorn.AccessModeReadWriteOnce,
			DataEngine:       longhorn.DataEngineV1,
			DisableFrontend:  true,
			NodeID:           "node-1",
			Image:            "longhornio/longhorn-engine:v1.10.2",
		},
		Status: longhorn.VolumeStatus{
			OwnerID:       "node-1",
			State:         longhorn.VolumeStateAttached,
			Robustness:    longhorn.VolumeRobustnessHealthy,
			CurrentNodeID: "node-1",
			Conditions: []longhorn.Condition{{
				Type: longhorn.VolumeConditionTypeRestore, Status: longhorn.ConditionStatusTrue,
				LastProbeTime: ts(time.Minute), LastTransitionTime: ts(0),
				Reason: longhorn.VolumeConditionReasonRestoreInProgress, Message: "restoring",
			}},
			LastBackup:       fixtureBackup,
			LastBackupAt:     ts(-time.Hour),
			LastDegradedAt:   ts(-2 * time.Hour),
			FrontendDisabled: true,
			RestoreRequired:  true,
			RestoreInitiated: true,
			IsStandby:        true,
			ActualSize:       1048576,
		},
	}
	vol.Labels = map[string]string{
		longhorn.LabelLonghornVolume:                                       fixtureVolume,
		longhorn.LabelBackupVolume:                                         fixtureVolume,
		longhorn.LabelBackupTarget:                                         longhorn.DefaultBackupTargetName,
		longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup): longhorn.LabelValueEnabled,
	}
	eng := &longhorn.Engine{
		ObjectMeta: meta(longhorn.EngineName(fixtureVolume)),
		Spec: longhorn.EngineSpec{
			VolumeName: fixtureVolume, VolumeSize: 2147483648, Active: true, NodeID: "node-1",
			Frontend: longhorn.VolumeFrontendBlockDev, DisableFrontend: true, DataEngine: longhorn.DataEngineV1,
			BackupVolume:           longhorn.BackupVolumeName(fixtureVolume, longhorn.DefaultBackupTargetName),
			RequestedBackupRestore: fixtureBackup,
		},
		Status: longhorn.EngineStatus{
			OwnerID: "node-1", CurrentState: "running", CurrentSize: 2147483648,
			LastRestoredBackup: fixtureBackup,
			RestoreStatus: map[string]*longhorn.RestoreStatus{"tcp://10.0.0.1:10000": {
				IsRestoring: true, LastRestored: "backup-0000000000000001", CurrentRestoringBackup: fixtureBackup,
				Progress: 42, Error: "none", Filename: "volume-snap-x.img", State: "in_progress", BackupURL: url,
			}},
			PurgeStatus: map[string]*longhorn.PurgeStatus{"tcp://10.0.0.1:10000": {
				Error: "none", IsPurging: true, Progress: 7, State: "in_progress",
			}},
			ReplicaModeMap: map[string]string{fixtureVolume + "-r-1": longhorn.ReplicaModeRW},
			Conditions: []longhorn.Condition{{
				Type: "InstanceCreation", Status: longhorn.ConditionStatusTrue, LastTransitionTime: ts(0),
			}},
		},
	}
	eng.Labels = map[string]string{longhorn.LabelLonghornVolume: fixtureVolume}
	backup := &longhorn.Backup{
		ObjectMeta: meta(fixtureBackup),
		Spec: longhorn.BackupSpec{
			SyncRequestedAt: mtime(time.Minute),
			SnapshotName:    "snap-1",
			Labels:          map[string]string{longhorn.LabelVolumeAccessMode: "rwo"},
			BackupMode:      longhorn.BackupModeIncremental,
		},
		Status: longhorn.BackupStatus{
			OwnerID: "node-1", State: longhorn.BackupStateCompleted, Progress: 100, Error: "none",
			URL: url, SnapshotName: "snap-1", SnapshotCreatedAt: ts(-time.Hour), BackupCreatedAt: ts(-50 * time.Minute),
			Size: "1048576", Labels: map[string]string{"app": "postgres"}, VolumeName: fixtureVolume,
			VolumeSize: "2147483648", VolumeCreated: ts(-24 * time.Hour), LastSyncedAt: mtime(2 * time.Minute),
			CompressionMethod: "lz4", NewlyUploadedDataSize: "4096", ReUploadedDataSize: "0",
			BackupTargetName: longhorn.DefaultBackupTargetName,
		},
	}
	backup.Labels = longhorn.BackupVolumeLabels(longhorn.DefaultBackupTargetName, fixtureVolume)
	bv := &longhorn.BackupVolume{
		ObjectMeta: meta(longhorn.BackupVolumeName(fixtureVolume, longhorn.DefaultBackupTargetName)),
		Spec: longhorn.BackupVolumeSpec{
			BackupTargetName: longhorn.DefaultBackupTargetName, VolumeName: fixtureVolume, SyncRequestedAt: mtime(time.Minute),
		},
		Status: longhorn.BackupVolumeStatus{
			OwnerID: "node-1", LastModificationTime: mtime(-time.Hour), Size: "2147483648",
			Labels: map[string]string{"app": "postgres"}, CreatedAt: ts(-24 * time.Hour),
			LastBackupName: fixtureBackup, LastBackupAt: ts(-time.Hour), DataStored: "1048576",
			LastSyncedAt: mtime(2 * time.Minute),
		},
	}
	bv.Labels = longhorn.BackupVolumeLabels(longhorn.DefaultBackupTargetName, fixtureVolume)
	bt := &longhorn.BackupTarget{
		ObjectMeta: meta(longhorn.DefaultBackupTargetName),
		Spec: longhorn.BackupTargetSpec{
			BackupTargetURL: fixtureTarget, CredentialSecret: "s3-secret",
			PollInterval: &metav1.Duration{Duration: 5 * time.Minute}, SyncRequestedAt: mtime(time.Minute),
		},
		Status: longhorn.BackupTargetStatus{
			OwnerID: "node-1", Available: true, LastSyncedAt: mtime(2 * time.Minute),
			Conditions: []longhorn.Condition{{
				Type: longhorn.BackupTargetConditionTypeUnavailable, Status: longhorn.ConditionStatusFalse,
				LastProbeTime: ts(0), LastTransitionTime: ts(0), Reason: longhorn.BackupTargetConditionReasonUnavailable, Message: "ok",
			}},
		},
	}
	rj := &longhorn.RecurringJob{
		ObjectMeta: meta("drplan-payments"),
		Spec: longhorn.RecurringJobSpec{
			Name: "drplan-payments", Groups: []string{"drplan-payments"}, Task: longhorn.RecurringJobTaskBackup,
			Cron: "*/15 * * * *", Retain: 10, Concurrency: 2,
			Labels: map[string]string{"drplan.io/plan": "payments"}, Parameters: map[string]string{"full-backup-interval": "12"},
		},
		Status: longhorn.RecurringJobStatus{OwnerID: "node-1", ExecutionCount: 3},
	}
	setting := &longhorn.Setting{
		ObjectMeta: meta(longhorn.SettingAllowDegradedAvailability),
		Value:      "false",
		Status:     longhorn.SettingStatus{Applied: true},
	}
	return []client.Object{vol, eng, backup, bv, bt, rj, setting}
}
