package longhornsim

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// waitFaulted waits until sc's standby volume name is faulted by a restore error containing
// cause, as Longhorn shows it (REFERENCE §1.3, §10.1): every replica failed
// (AnnotationFailedReplicas), robustness faulted, detached, still standby and restoring, the
// Restore condition False with reason RestoreFailure, and the engine's restoreStatus holding the
// error of each replica, lastRestoredBackup still the previous backup.
func waitFaulted(t *testing.T, sc *simCluster, name, lastRestored, cause string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		v := getVolume(t, sc, name)
		g.Expect(v.Annotations).To(HaveKeyWithValue(AnnotationFailedReplicas, "3"))
		g.Expect(v.Status.Robustness).To(Equal(longhorn.VolumeRobustnessFaulted))
		g.Expect(v.Status.State).To(Equal(longhorn.VolumeStateDetached))
		g.Expect(v.Status.IsStandby).To(BeTrue())
		g.Expect(v.Status.RestoreRequired).To(BeTrue())
		c := longhorn.FindCondition(v.Status.Conditions, longhorn.VolumeConditionTypeRestore)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(longhorn.ConditionStatusFalse))
		g.Expect(c.Reason).To(Equal(longhorn.VolumeConditionReasonRestoreFailure))
		g.Expect(c.Message).To(Equal("All replica restore failed and the volume became Faulted"))
		var e longhorn.Engine
		g.Expect(sc.c.Get(t.Context(), key(longhorn.EngineName(name)), &e)).To(Succeed())
		g.Expect(e.Status.LastRestoredBackup).To(Equal(lastRestored))
		g.Expect(e.Status.CurrentState).To(Equal(instanceStopped))
		g.Expect(e.Status.RestoreStatus).To(HaveLen(3))
		for r, st := range e.Status.RestoreStatus {
			g.Expect(st.IsRestoring).To(BeFalse(), r)
			g.Expect(st.Error).To(ContainSubstring(cause), r)
		}
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
}

// waitRestoring waits until sc's volume name is restoring backup.
func waitRestoring(t *testing.T, sc *simCluster, name, backup string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var e longhorn.Engine
		g.Expect(sc.c.Get(t.Context(), key(longhorn.EngineName(name)), &e)).To(Succeed())
		g.Expect(e.Status.RestoreStatus).NotTo(BeEmpty())
		for _, st := range e.Status.RestoreStatus {
			g.Expect(st.IsRestoring).To(BeTrue())
			g.Expect(st.CurrentRestoringBackup).To(Equal(backup))
		}
	}).WithTimeout(timeout).WithPolling(20 * time.Millisecond).Should(Succeed())
}

// newBackupOnEast changes blocks of east's source volume name and backs it up.
func newBackupOnEast(t *testing.T, name string, blocks int) *longhorn.Backup {
	t.Helper()
	NewWithT(t).Expect(env.east.sim.WriteVolume(t.Context(), name, 0, randomBytes(t, blocks*testBlockSize))).To(Succeed())
	return backupNow(t, env.east, name)
}

// A standby goes Faulted (REFERENCE §10.1): each replica reports the error of its incremental
// restore (engine_controller.go restoreBackup, handleRestoreError), the volume controller marks
// them failed (volume_controller.go ReconcileEngineReplicaState), the volume is faulted with no
// replica left, and ReconcileVolumeState never auto-salvages a restore or DR volume, so
// checkAndFinishVolumeRestore never passes again, even once activation is requested. (The
// simulator used to retry a failed restore after 2 s.)
func TestStandbyFaultsOnRestoreError(t *testing.T) {
	requireEnv(t)
	west := env.west
	t.Cleanup(func() { west.sim.SetRestoreRate(0) })

	t.Run("FailRestore knob, then activation never finishes", func(t *testing.T) {
		g := NewWithT(t)
		_, b1 := standbyFromEast(t, "fault-knob")
		g.Expect(west.sim.FailRestore(t.Context(), "fault-knob", "replica restore failed: boom")).To(Succeed())
		newBackupOnEast(t, "fault-knob", 1)
		requestTargetSync(t, west)
		waitFaulted(t, west, "fault-knob", b1.Name, "replica restore failed: boom")

		activate(t, west, "fault-knob")
		g.Consistently(func(g Gomega) {
			v := getVolume(t, west, "fault-knob")
			g.Expect(v.Status.IsStandby).To(BeTrue())
			g.Expect(v.Status.RestoreRequired).To(BeTrue())
			g.Expect(v.Status.Robustness).To(Equal(longhorn.VolumeRobustnessFaulted))
			g.Expect(v.Status.State).To(Equal(longhorn.VolumeStateDetached))
		}).WithTimeout(3 * time.Second).WithPolling(poll).Should(Succeed())
	})

	t.Run("store unreachable mid-restore", func(t *testing.T) {
		_, b1 := standbyFromEast(t, "fault-store")
		west.sim.SetRestoreRate(testBlockSize) // one block a second
		b2 := newBackupOnEast(t, "fault-store", 3)
		requestTargetSync(t, west)
		waitRestoring(t, west, "fault-store", b2.Name)
		west.sim.SetStoreReachable(false)
		t.Cleanup(func() { west.sim.SetStoreReachable(true) })
		waitFaulted(t, west, "fault-store", b1.Name, backupstore.ErrUnreachable.Error())
		west.sim.SetStoreReachable(true)
		west.sim.SetRestoreRate(0)
	})

	t.Run("backup pruned from the store mid-restore", func(t *testing.T) {
		_, b1 := standbyFromEast(t, "fault-pruned")
		west.sim.SetRestoreRate(testBlockSize)
		b2 := newBackupOnEast(t, "fault-pruned", 3)
		requestTargetSync(t, west)
		waitRestoring(t, west, "fault-pruned", b2.Name)
		// The primary's retention: west's guard against deleting a backup under restore does
		// not see it.
		NewWithT(t).Expect(west.sim.PruneBackup(t.Context(), "fault-pruned", b2.Name)).To(Succeed())
		waitFaulted(t, west, "fault-pruned", b1.Name, backupstore.ErrNotFound.Error())
		west.sim.SetRestoreRate(0)
	})
}
