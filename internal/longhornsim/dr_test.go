package longhornsim

import (
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/longhorn"
)

// A recurring backup on east appears as a Backup CR on west after west's poll, and at once
// after a sync request when the poll is far off.
func TestBackupReachesWest(t *testing.T) {
	requireEnv(t)
	east, west := env.east, env.west
	backupJob(t, east, "reach", "0 0 1 1 *", 5, 1)
	sourceVolume(t, east, "reach-src", "reach", randomBytes(t, 3*testBlockSize))

	t.Run("after west's poll", func(t *testing.T) {
		g := NewWithT(t)
		setPollInterval(t, west, 2*time.Second)
		b := backupNow(t, east, "reach")
		g.Expect(b.Status.URL).To(Equal(env.store.URL() + "?backup=" + b.Name + "&volume=reach-src"))
		start := time.Now()
		got := waitBackup(t, west, b.Name, 10*time.Second)
		t.Logf("backup %s on west after %s", b.Name, time.Since(start))
		g.Expect(got.Status.URL).To(Equal(b.Status.URL))
		g.Expect(got.Status.BackupTargetName).To(Equal(longhorn.DefaultBackupTargetName))
		g.Expect(got.Labels).To(HaveKeyWithValue(longhorn.LabelBackupVolume, "reach-src"))
		var bv longhorn.BackupVolume
		g.Expect(west.c.Get(t.Context(), key(longhorn.BackupVolumeName("reach-src", longhorn.DefaultBackupTargetName)), &bv)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(west.c.Get(t.Context(), key(bv.Name), &bv)).To(Succeed())
			g.Expect(bv.Status.LastBackupName).To(Equal(b.Name))
		}).WithTimeout(10 * time.Second).WithPolling(poll).Should(Succeed())
	})

	t.Run("at once after a sync request", func(t *testing.T) {
		g := NewWithT(t)
		setPollInterval(t, west, time.Hour)
		t.Cleanup(func() { setPollInterval(t, west, 2*time.Second) })
		b := backupNow(t, east, "reach")
		g.Consistently(func() error {
			return west.c.Get(t.Context(), key(b.Name), &longhorn.Backup{})
		}).WithTimeout(3 * time.Second).WithPolling(poll).ShouldNot(Succeed())
		start := time.Now()
		requestTargetSync(t, west)
		waitBackup(t, west, b.Name, 2*time.Second)
		t.Logf("backup %s on west %s after the sync request", b.Name, time.Since(start))
	})
}

// A standby volume on west follows new backups incrementally; activation waits for the
// newest backup to be restored, and the activated volume holds exactly that backup's data.
func TestStandbyFollowsAndActivates(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	east, west := env.east, env.west
	backupJob(t, east, "follow", "0 0 1 1 *", 10, 1)
	data := randomBytes(t, 4*testBlockSize)
	sourceVolume(t, east, "follow", "follow", data)
	b1 := backupNow(t, east, "follow")
	requestTargetSync(t, west)
	waitBackup(t, west, b1.Name, 5*time.Second)

	// The webhook's cache may not show the Backup yet (as in Longhorn): retry like a client.
	g.Eventually(func() error {
		return west.c.Create(t.Context(), standbyVolume("follow", b1.Status.URL))
	}).WithTimeout(5 * time.Second).WithPolling(poll).Should(Succeed())
	v := getVolume(t, west, "follow")
	g.Expect(v.Spec.Size).To(Equal(int64(16<<20)), "size comes from the backup")
	g.Expect(v.Spec.BackupTargetName).To(Equal(longhorn.DefaultBackupTargetName))
	g.Expect(v.Labels).To(HaveKeyWithValue(longhorn.LabelBackupVolume, "follow"))
	waitRestored(t, west, "follow", b1.Name, data, timeout)
	v = getVolume(t, west, "follow")
	g.Expect(v.Status.IsStandby).To(BeTrue())
	g.Expect(v.Status.RestoreRequired).To(BeTrue())
	g.Expect(v.Status.State).To(Equal(longhorn.VolumeStateAttached))
	g.Expect(isConditionTrue(v.Status.Conditions, longhorn.VolumeConditionTypeRestore)).To(BeTrue())

	t.Log("a new backup with one changed block: an incremental restore moves one block")
	copy(data[testBlockSize:], randomBytes(t, testBlockSize))
	g.Expect(east.sim.WriteVolume(t.Context(), "follow", testBlockSize, data[testBlockSize:2*testBlockSize])).To(Succeed())
	b2 := backupNow(t, east, "follow")
	requestTargetSync(t, west)
	waitRestored(t, west, "follow", b2.Name, data, timeout)
	v = getVolume(t, west, "follow")
	g.Expect(v.Annotations).To(HaveKeyWithValue(AnnotationLastRestoreBytes, strconv.Itoa(testBlockSize)))

	t.Log("a slow restore of a newer backup: activation finishes only once it is restored")
	west.sim.SetRestoreRate(2 * testBlockSize) // 0.5 s per block
	t.Cleanup(func() { west.sim.SetRestoreRate(0) })
	data = append(data, randomBytes(t, 2*testBlockSize)...)
	copy(data[:testBlockSize], randomBytes(t, testBlockSize))
	g.Expect(east.sim.WriteVolume(t.Context(), "follow", 0, data)).To(Succeed())
	// No poll on west from here: the only sync is the one activation requests. That request
	// must be after the BackupVolume's lastSyncedAt at the API's second precision, or Longhorn
	// (and the simulator) ignore it, and the gate passes on the backup already restored.
	setPollInterval(t, west, time.Hour)
	t.Cleanup(func() { setPollInterval(t, west, 2*time.Second) })
	b3 := backupNow(t, east, "follow")
	time.Sleep(1100 * time.Millisecond)
	activate(t, west, "follow")
	g.Consistently(func(g Gomega) {
		v := getVolume(t, west, "follow")
		g.Expect(v.Status.IsStandby).To(BeTrue())
		g.Expect(v.Status.State).To(Equal(longhorn.VolumeStateAttached))
	}).WithTimeout(time.Second).WithPolling(poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		v := getVolume(t, west, "follow")
		g.Expect(longhorn.ActivationSettled(v)).To(BeTrue(), "state %s, isStandby %v", v.Status.State, v.Status.IsStandby)
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())

	v = getVolume(t, west, "follow")
	var e longhorn.Engine
	g.Expect(west.c.Get(t.Context(), key(longhorn.EngineName("follow")), &e)).To(Succeed())
	g.Expect(e.Status.LastRestoredBackup).To(Equal(b3.Name))
	g.Expect(v.Status.LastBackup).To(Equal(b3.Name))
	restored, _, err := RecordedTime(v, AnnotationLastRestoreFinishedAt)
	g.Expect(err).NotTo(HaveOccurred())
	finished, ok, err := RecordedTime(v, AnnotationActivationFinishedAt)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())
	requested, ok, err := RecordedTime(v, AnnotationActivationRequestedAt)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())
	g.Expect(finished).To(BeTemporally(">=", restored))
	g.Expect(finished.Sub(requested)).To(BeNumerically(">=", 3*time.Second/2), "three changed blocks at 0.5 s each")
	g.Expect(v.Annotations).To(HaveKeyWithValue(AnnotationLastRestoreBytes, strconv.Itoa(3*testBlockSize)))

	got, err := west.sim.ReadVolume(t.Context(), "follow")
	g.Expect(err).NotTo(HaveOccurred())
	want, err := env.store.ReadBackupData("follow", b3.Name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(want))
	g.Expect(got).To(Equal(data), "the source's data at backup %s", b3.Name)
}
