package longhornsim

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// The simulator's own port of VolumeController.checkAndFinishVolumeRestore and
// checkAllScheduledReplicasIncluded (controller/volume_controller.go, REFERENCE §1.7), case by
// case.
func TestFinishRestore(t *testing.T) {
	at := func(sec int) *metav1.Time {
		m := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC))
		return &m
	}
	replicas := []string{"v-r-0", "v-r-1", "v-r-2"}
	base := func() restoreGate {
		return restoreGate{
			volume: &longhorn.Volume{
				ObjectMeta: metav1.ObjectMeta{Name: "v"},
				Spec:       longhorn.VolumeSpec{FromBackup: "nfs://s:/x?backup=backup-1&volume=v", NumberOfReplicas: 3},
				Status:     longhorn.VolumeStatus{IsStandby: true, RestoreRequired: true, Robustness: longhorn.VolumeRobustnessHealthy},
			},
			engine: &longhorn.Engine{
				ObjectMeta: metav1.ObjectMeta{Name: "v-e-0"},
				Spec:       longhorn.EngineSpec{RequestedBackupRestore: "backup-2"},
				Status: longhorn.EngineStatus{LastRestoredBackup: "backup-2",
					ReplicaModeMap: map[string]string{"v-r-0": "RW", "v-r-1": "RW", "v-r-2": "RW"}},
			},
			backupVolume: &longhorn.BackupVolume{
				Spec:   longhorn.BackupVolumeSpec{VolumeName: "v", SyncRequestedAt: at(1)},
				Status: longhorn.BackupVolumeStatus{LastSyncedAt: at(2), LastBackupName: "backup-2"},
			},
			latestBackup: &longhorn.Backup{ObjectMeta: metav1.ObjectMeta{Name: "backup-2"}},
			replicas:     replicas,
		}
	}
	tests := []struct {
		name   string
		mut    func(*restoreGate)
		finish bool
		why    string
		err    bool
	}{
		{name: "caught up, healthy", finish: true},
		{name: "no engine", mut: func(g *restoreGate) { g.engine = nil }, why: "volume v has no engine"},
		{name: "not from a backup", mut: func(g *restoreGate) { g.volume.Spec.FromBackup = "" }, why: "volume v is not restored from a backup"},
		{name: "nothing requested", mut: func(g *restoreGate) { g.engine.Spec.RequestedBackupRestore = "" }, why: "engine v-e-0 has no requested backup"},
		{
			name: "requested not restored", mut: func(g *restoreGate) { g.engine.Status.LastRestoredBackup = "backup-1" },
			why: `engine v-e-0 restored "backup-1", requested backup-2`,
		},
		{name: "still standby", mut: func(g *restoreGate) { g.volume.Spec.Standby = true }, why: "spec.Standby is true"},
		{
			name: "backup volume sync pending", mut: func(g *restoreGate) { g.backupVolume.Spec.SyncRequestedAt = at(3) },
			why: "Restore/DR volume needs to wait for backup volume v update",
		},
		{
			name: "never synced: no wait", mut: func(g *restoreGate) {
				g.backupVolume.Status.LastSyncedAt = nil
				g.backupVolume.Spec.SyncRequestedAt = at(3)
			},
			finish: true,
		},
		{name: "latest backup CR missing", mut: func(g *restoreGate) { g.latestErr = errors.New(`backup.longhorn.io "backup-2" not found`) }, err: true},
		{
			name: "newer backup not restored", mut: func(g *restoreGate) {
				g.backupVolume.Status.LastBackupName = "backup-3"
				g.latestBackup = &longhorn.Backup{ObjectMeta: metav1.ObjectMeta{Name: "backup-3"}}
			},
			why: "Restore/DR volume needs to restore the latest backup backup-3, and the current restored backup is backup-2",
		},
		{name: "no backup volume: not checked", mut: func(g *restoreGate) { g.backupVolume = nil }, finish: true},
		{
			name: "not standby any more: not checked", mut: func(g *restoreGate) {
				g.volume.Status.IsStandby = false
				g.backupVolume.Spec.SyncRequestedAt = at(3)
			},
			finish: true,
		},
		{
			name: "purging", mut: func(g *restoreGate) {
				g.engine.Status.PurgeStatus = map[string]*longhorn.PurgeStatus{"v-r-0": {IsPurging: true}}
			},
			why: "a replica is purging snapshots",
		},
		{
			name: "healthy but a replica left out", mut: func(g *restoreGate) { g.engine.Status.ReplicaModeMap["v-r-2"] = "WO" },
			why: "healthy but not all scheduled replicas are included in the engine",
		},
		{
			name: "degraded, setting on", mut: func(g *restoreGate) {
				g.volume.Status.Robustness = longhorn.VolumeRobustnessDegraded
				g.allowDegraded = true
			},
			finish: true,
		},
		{
			name: "degraded, setting off", mut: func(g *restoreGate) { g.volume.Status.Robustness = longhorn.VolumeRobustnessDegraded },
			why: "degraded and setting allow-volume-creation-with-degraded-availability is false",
		},
		{
			name: "faulted", mut: func(g *restoreGate) {
				g.volume.Status.Robustness = longhorn.VolumeRobustnessFaulted
				g.allowDegraded = true
			},
			why: `robustness is "faulted"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := base()
			if tt.mut != nil {
				tt.mut(&in)
			}
			finish, why, err := finishRestore(in)
			if tt.err {
				g.Expect(err).To(HaveOccurred())
				g.Expect(finish).To(BeFalse())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(finish).To(Equal(tt.finish))
			g.Expect(why).To(Equal(tt.why))
		})
	}
}
