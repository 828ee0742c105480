package longhorn_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

const (
	b1 = "backup-0000000000000001"
	b2 = "backup-0000000000000002"
)

// caughtUp returns a standby volume in west that has restored b2, the newest backup, healthy,
// with a synced BackupVolume: every predicate passes on it. Cases change one thing.
func caughtUp() longhorn.DRView {
	url, _ := longhorn.EncodeBackupURL(b1, fixtureVolume, fixtureTarget)
	return longhorn.DRView{
		Volume: &longhorn.Volume{
			ObjectMeta: metav1.ObjectMeta{Name: fixtureVolume},
			Spec: longhorn.VolumeSpec{
				Standby: true, FromBackup: url, NumberOfReplicas: 2, BackupTargetName: longhorn.DefaultBackupTargetName,
			},
			Status: longhorn.VolumeStatus{
				State: longhorn.VolumeStateAttached, Robustness: longhorn.VolumeRobustnessHealthy,
				IsStandby: true, RestoreRequired: true, RestoreInitiated: true, LastBackup: b2,
			},
		},
		Engine: &longhorn.Engine{
			ObjectMeta: metav1.ObjectMeta{Name: longhorn.EngineName(fixtureVolume)},
			Spec:       longhorn.EngineSpec{RequestedBackupRestore: b2},
			Status: longhorn.EngineStatus{
				LastRestoredBackup: b2,
				ReplicaModeMap:     map[string]string{"r1": longhorn.ReplicaModeRW, "r2": longhorn.ReplicaModeRW},
				RestoreStatus: map[string]*longhorn.RestoreStatus{
					"tcp://r1": {LastRestored: b2}, "tcp://r2": {LastRestored: b2},
				},
			},
		},
		BackupVolume: &longhorn.BackupVolume{
			ObjectMeta: metav1.ObjectMeta{Name: longhorn.BackupVolumeName(fixtureVolume, longhorn.DefaultBackupTargetName)},
			Spec:       longhorn.BackupVolumeSpec{VolumeName: fixtureVolume, SyncRequestedAt: mtime(0)},
			Status:     longhorn.BackupVolumeStatus{LastBackupName: b2, LastSyncedAt: mtime(time.Second)},
		},
		LatestBackup:  &longhorn.Backup{ObjectMeta: metav1.ObjectMeta{Name: b2}},
		AllowDegraded: false,
	}
}

// activating is caughtUp with activation requested: spec.Standby false, frontend set.
func activating() longhorn.DRView {
	in := caughtUp()
	in.Volume.Spec.Standby = false
	in.Volume.Spec.Frontend = longhorn.VolumeFrontendBlockDev
	return in
}

func TestRestoreInProgress(t *testing.T) {
	cases := []struct {
		name   string
		change func(*longhorn.DRView)
		want   bool
	}{
		{name: "restored newest backup: blue", change: func(*longhorn.DRView) {}, want: false},
		{name: "newer backup not restored: gray", change: func(in *longhorn.DRView) { in.Engine.Status.LastRestoredBackup = b1 }, want: true},
		{name: "no lastBackup, engine behind its request: gray", change: func(in *longhorn.DRView) {
			in.Volume.Status.LastBackup = ""
			in.Engine.Status.LastRestoredBackup = b1
		}, want: true},
		{name: "no lastBackup, engine at its request: blue", change: func(in *longhorn.DRView) { in.Volume.Status.LastBackup = "" }, want: false},
		{name: "not standby", change: func(in *longhorn.DRView) {
			in.Volume.Spec.Standby = false
			in.Engine.Status.LastRestoredBackup = b1
		}, want: false},
		{name: "no engine", change: func(in *longhorn.DRView) { in.Engine = nil }, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := caughtUp()
			tc.change(&in)
			NewWithT(t).Expect(longhorn.RestoreInProgress(in.Volume, in.Engine)).To(Equal(tc.want))
		})
	}
}

func TestStandbyCaughtUp(t *testing.T) {
	cases := []struct {
		name    string
		change  func(*longhorn.DRView)
		primary string
		want    bool
		why     string
	}{
		{name: "caught up", change: func(*longhorn.DRView) {}, want: true},
		{name: "caught up with the primary", change: func(*longhorn.DRView) {}, primary: b2, want: true},
		{name: "primary has a newer backup", change: func(*longhorn.DRView) {}, primary: "backup-0000000000000003",
			why: "primary's newest is backup-0000000000000003"},
		{name: "no volume", change: func(in *longhorn.DRView) { in.Volume = nil }, why: "volume not found"},
		{name: "activation requested", change: func(in *longhorn.DRView) { in.Volume.Spec.Standby = false }, why: "spec.Standby is false"},
		{name: "restore not started", change: func(in *longhorn.DRView) { in.Volume.Status.IsStandby = false }, why: "status.isStandby is false"},
		{name: "not attached", change: func(in *longhorn.DRView) { in.Volume.Status.State = longhorn.VolumeStateAttaching }, why: "is attaching, not attached"},
		{name: "no state", change: func(in *longhorn.DRView) { in.Volume.Status.State = "" }, why: "is in no state yet"},
		{name: "no engine", change: func(in *longhorn.DRView) { in.Engine = nil }, why: "has no engine"},
		{name: "nothing restored", change: func(in *longhorn.DRView) { in.Engine.Status.LastRestoredBackup = "" }, why: "restored no backup yet"},
		{name: "behind lastBackup (UI gray)", change: func(in *longhorn.DRView) { in.Engine.Status.LastRestoredBackup = b1 },
			why: "restored backup " + b1 + ", newest is " + b2},
		{name: "no lastBackup yet, behind the request", change: func(in *longhorn.DRView) {
			in.Volume.Status.LastBackup = ""
			in.Engine.Status.LastRestoredBackup = b1
		}, why: "newest is " + b2},
		{name: "a replica is restoring", change: func(in *longhorn.DRView) {
			in.Engine.Status.RestoreStatus["tcp://r2"] = &longhorn.RestoreStatus{IsRestoring: true, CurrentRestoringBackup: b2}
		}, why: "replica tcp://r2 is restoring " + b2},
		{name: "a replica restore failed", change: func(in *longhorn.DRView) {
			in.Engine.Status.RestoreStatus["tcp://r1"].Error = "cannot find .cfg in backupstore"
		}, why: "replica tcp://r1 restore failed: cannot find .cfg in backupstore"},
		{name: "a replica is purging", change: func(in *longhorn.DRView) {
			in.Engine.Status.PurgeStatus = map[string]*longhorn.PurgeStatus{"tcp://r1": {IsPurging: true}}
		}, why: "replica tcp://r1 is purging snapshots"},
		{name: "degraded, setting off", change: func(in *longhorn.DRView) { in.Volume.Status.Robustness = longhorn.VolumeRobustnessDegraded },
			why: "is degraded and setting allow-volume-creation-with-degraded-availability is false"},
		{name: "degraded, setting on", change: func(in *longhorn.DRView) {
			in.Volume.Status.Robustness = longhorn.VolumeRobustnessDegraded
			in.AllowDegraded = true
		}, want: true},
		{name: "faulted", change: func(in *longhorn.DRView) { in.Volume.Status.Robustness = longhorn.VolumeRobustnessFaulted }, why: "is faulted"},
		{name: "robustness unknown", change: func(in *longhorn.DRView) { in.Volume.Status.Robustness = "" }, why: "of unknown robustness"},
		{name: "healthy but a replica is WO", change: func(in *longhorn.DRView) { in.Engine.Status.ReplicaModeMap["r2"] = longhorn.ReplicaModeWO },
			why: "not all scheduled replicas are in RW mode"},
		{name: "no backup volume", change: func(in *longhorn.DRView) { in.BackupVolume = nil }, why: "has no backup volume"},
		{name: "backup volume sync pending", change: func(in *longhorn.DRView) { in.BackupVolume.Spec.SyncRequestedAt = mtime(time.Minute) },
			why: "has a sync pending"},
		{name: "backup volume never synced", change: func(in *longhorn.DRView) { in.BackupVolume.Status.LastSyncedAt = nil }, why: "has a sync pending"},
		{name: "backup volume knows a newer backup", change: func(in *longhorn.DRView) {
			in.BackupVolume.Status.LastBackupName = "backup-0000000000000003"
		}, why: "backup volume pg-data-"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			in := caughtUp()
			tc.change(&in)
			ok, why := longhorn.StandbyCaughtUp(in, tc.primary)
			g.Expect(ok).To(Equal(tc.want), why)
			if tc.want {
				g.Expect(why).To(BeEmpty())
			} else {
				g.Expect(why).To(ContainSubstring(tc.why))
			}
		})
	}
}

// TestActivationGate follows checkAndFinishVolumeRestore (REFERENCE §1.7) branch by branch.
func TestActivationGate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*longhorn.DRView)
		want   bool
		why    string
	}{
		{name: "healthy, caught up: finishes", change: func(*longhorn.DRView) {}, want: true},
		{name: "no volume", change: func(in *longhorn.DRView) { in.Volume = nil }, why: "volume not found"},
		{name: "no engine", change: func(in *longhorn.DRView) { in.Engine = nil }, why: "has no engine"},
		{name: "not from a backup", change: func(in *longhorn.DRView) { in.Volume.Spec.FromBackup = "" }, why: "not restored from a backup"},
		{name: "still standby", change: func(in *longhorn.DRView) { in.Volume.Spec.Standby = true }, why: "activation not requested"},
		{name: "engine has no request", change: func(in *longhorn.DRView) { in.Engine.Spec.RequestedBackupRestore = "" }, why: "no requested backup"},
		{name: "engine behind its request", change: func(in *longhorn.DRView) { in.Engine.Status.LastRestoredBackup = b1 },
			why: `engine restored "` + b1 + `", requested ` + b2},
		{name: "backup volume sync pending", change: func(in *longhorn.DRView) { in.BackupVolume.Spec.SyncRequestedAt = mtime(time.Minute) },
			why: "Restore/DR volume needs to wait for backup volume pg-data update"},
		{name: "backup volume never synced: no wait (Longhorn checks lastSyncedAt non-zero)", change: func(in *longhorn.DRView) {
			in.BackupVolume.Status.LastSyncedAt = nil
		}, want: true},
		{name: "newest backup CR missing", change: func(in *longhorn.DRView) { in.LatestBackup = nil }, why: "backup " + b2 + " not found"},
		{name: "a newer backup exists", change: func(in *longhorn.DRView) {
			in.BackupVolume.Status.LastBackupName = "backup-0000000000000003"
			in.LatestBackup = &longhorn.Backup{ObjectMeta: metav1.ObjectMeta{Name: "backup-0000000000000003"}}
		}, why: "Restore/DR volume needs to restore the latest backup backup-0000000000000003, and the current restored backup is " + b2},
		{name: "no backup volume: Longhorn skips the freshness check", change: func(in *longhorn.DRView) { in.BackupVolume = nil }, want: true},
		{name: "already finished standby: freshness not checked", change: func(in *longhorn.DRView) {
			in.Volume.Status.IsStandby = false
			in.LatestBackup = nil
		}, want: true},
		{name: "purging", change: func(in *longhorn.DRView) {
			in.Engine.Status.PurgeStatus = map[string]*longhorn.PurgeStatus{"tcp://r1": {IsPurging: true}}
		}, why: "purging snapshots"},
		{name: "degraded, setting false: stuck", change: func(in *longhorn.DRView) { in.Volume.Status.Robustness = longhorn.VolumeRobustnessDegraded },
			why: "is degraded and setting allow-volume-creation-with-degraded-availability is false"},
		{name: "degraded, setting true: finishes", change: func(in *longhorn.DRView) {
			in.Volume.Status.Robustness = longhorn.VolumeRobustnessDegraded
			in.AllowDegraded = true
		}, want: true},
		{name: "faulted", change: func(in *longhorn.DRView) { in.Volume.Status.Robustness = longhorn.VolumeRobustnessFaulted }, why: "is faulted"},
		{name: "healthy, fewer RW replicas than wanted and one in ERR", change: func(in *longhorn.DRView) {
			in.Engine.Status.ReplicaModeMap = map[string]string{"r1": longhorn.ReplicaModeRW, "r2": longhorn.ReplicaModeERR}
		}, why: "not all scheduled replicas are in RW mode"},
		{name: "healthy, fewer RW replicas than wanted, none outside RW", change: func(in *longhorn.DRView) {
			in.Engine.Status.ReplicaModeMap = map[string]string{"r1": longhorn.ReplicaModeRW}
		}, want: true},
		{name: "healthy, enough RW replicas plus a WO one", change: func(in *longhorn.DRView) {
			in.Engine.Status.ReplicaModeMap["r3"] = longhorn.ReplicaModeWO
		}, want: true},
		{name: "healthy, no replica known", change: func(in *longhorn.DRView) { in.Engine.Status.ReplicaModeMap = nil },
			why: "not all scheduled replicas are in RW mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			in := activating()
			tc.change(&in)
			ok, why := longhorn.ActivationGate(in)
			g.Expect(ok).To(Equal(tc.want), why)
			if tc.want {
				g.Expect(why).To(BeEmpty())
			} else {
				g.Expect(why).To(ContainSubstring(tc.why))
			}
		})
	}
}

func TestActivationState(t *testing.T) {
	type want struct{ requested, finished, settled bool }
	cases := []struct {
		name   string
		change func(*longhorn.Volume)
		want   want
	}{
		{name: "standby, restoring", change: func(*longhorn.Volume) {}, want: want{}},
		{name: "just created, no status yet", change: func(v *longhorn.Volume) { v.Status = longhorn.VolumeStatus{} }, want: want{}},
		{name: "activation requested, gate not passed", change: func(v *longhorn.Volume) { v.Spec.Standby = false }, want: want{requested: true}},
		{name: "activation finished, still attached", change: func(v *longhorn.Volume) {
			v.Spec.Standby = false
			v.Status.IsStandby, v.Status.RestoreRequired = false, false
		}, want: want{finished: true}},
		{name: "activation finished and detached", change: func(v *longhorn.Volume) {
			v.Spec.Standby = false
			v.Status.IsStandby, v.Status.RestoreRequired = false, false
			v.Status.State = longhorn.VolumeStateDetached
		}, want: want{finished: true, settled: true}},
		{name: "gate passed but restoreRequired still true", change: func(v *longhorn.Volume) {
			v.Spec.Standby = false
			v.Status.IsStandby = false
		}, want: want{}},
		{name: "plain volume, never restored", change: func(v *longhorn.Volume) {
			v.Spec = longhorn.VolumeSpec{}
			v.Status = longhorn.VolumeStatus{State: longhorn.VolumeStateDetached}
		}, want: want{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			v := caughtUp().Volume
			tc.change(v)
			g.Expect(longhorn.ActivationRequested(v)).To(Equal(tc.want.requested), "requested")
			g.Expect(longhorn.ActivationFinished(v)).To(Equal(tc.want.finished), "finished")
			g.Expect(longhorn.ActivationSettled(v)).To(Equal(tc.want.settled), "settled")
		})
	}
	g := NewWithT(t)
	g.Expect(longhorn.ActivationRequested(nil)).To(BeFalse())
	g.Expect(longhorn.ActivationFinished(nil)).To(BeFalse())
}
