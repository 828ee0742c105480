package longhornsim

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// standbyFromEast makes a source volume on east with one backup and a standby volume on west
// that has restored it; it returns the source's data and the backup.
func standbyFromEast(t *testing.T, name string) ([]byte, *longhorn.Backup) {
	t.Helper()
	g := NewWithT(t)
	backupJob(t, env.east, name, "0 0 1 1 *", 5, 1)
	data := randomBytes(t, 2*testBlockSize)
	sourceVolume(t, env.east, name, name, data)
	b := backupNow(t, env.east, name)
	requestTargetSync(t, env.west)
	if got := waitBackup(t, env.west, b.Name, 5*time.Second); got.Annotations[AnnotationBackupBlockSize] == "-1" {
		// West's poll pulled it while it uploaded (REFERENCE §10.11): no standby can be made
		// from it, as in Longhorn. A rare race here; take the next backup.
		b = backupNow(t, env.east, name)
		requestTargetSync(t, env.west)
		waitBackup(t, env.west, b.Name, 5*time.Second)
	}
	// The admission webhook reads Backups through its informer cache, as Longhorn's does: right
	// after the Backup completed it may not see it yet, and denies; a client retries.
	g.Eventually(func() error {
		return env.west.c.Create(t.Context(), standbyVolume(name, b.Status.URL))
	}).WithTimeout(5 * time.Second).WithPolling(poll).Should(Succeed())
	waitRestored(t, env.west, name, b.Name, data, timeout)
	return data, b
}

// A degraded standby volume does not activate while allow-volume-creation-with-degraded-
// availability is false, and does once it turns true.
func TestDegradedActivation(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	west := env.west
	data, b := standbyFromEast(t, "degraded")
	setSetting(t, west, longhorn.SettingAllowDegradedAvailability, "false")
	t.Cleanup(func() { setSetting(t, west, longhorn.SettingAllowDegradedAvailability, "true") })

	g.Expect(west.sim.FailReplicas(t.Context(), "degraded", 1)).To(Succeed())
	g.Eventually(func() longhorn.VolumeRobustness {
		return getVolume(t, west, "degraded").Status.Robustness
	}).WithTimeout(timeout).WithPolling(poll).Should(Equal(longhorn.VolumeRobustnessDegraded))

	activate(t, west, "degraded")
	g.Consistently(func(g Gomega) {
		v := getVolume(t, west, "degraded")
		g.Expect(v.Spec.Standby).To(BeFalse())
		g.Expect(v.Status.IsStandby).To(BeTrue(), "stuck in standby while degraded and the setting is false")
		g.Expect(v.Status.RestoreRequired).To(BeTrue())
		g.Expect(v.Status.State).To(Equal(longhorn.VolumeStateAttached))
	}).WithTimeout(3 * time.Second).WithPolling(poll).Should(Succeed())
	g.Expect(longhorn.ActivationRequested(getVolume(t, west, "degraded"))).To(BeTrue())

	setSetting(t, west, longhorn.SettingAllowDegradedAvailability, "true")
	g.Eventually(func(g Gomega) {
		g.Expect(longhorn.ActivationSettled(getVolume(t, west, "degraded"))).To(BeTrue())
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	got, err := west.sim.ReadVolume(t.Context(), "degraded")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(data))
	var e longhorn.Engine
	g.Expect(west.c.Get(t.Context(), key(longhorn.EngineName("degraded")), &e)).To(Succeed())
	g.Expect(e.Status.LastRestoredBackup).To(Equal(b.Name))
}

// Creating a standby volume whose backup is not in the cluster is denied by the admission
// webhook with Longhorn's messages (REFERENCE §1.5); so is changing the backup target while a
// standby volume exists (§3.3, §6).
func TestAdmission(t *testing.T) {
	requireEnv(t)
	west := env.west
	_, b := standbyFromEast(t, "admitted")
	missing := "backup-0123456789abcdef"
	missingURL := env.store.URL() + "?backup=" + missing + "&volume=admitted"

	tests := []struct {
		name   string
		volume func() *longhorn.Volume
		denied string
	}{
		{
			name:   "missing backup, access mode set",
			volume: func() *longhorn.Volume { return standbyVolume("denied-a", missingURL) },
			denied: `admission webhook "mutator.longhorn.io" denied the request: cannot get backup ` + missing +
				`: backup.longhorn.io "` + missing + `" not found`,
		},
		{
			name: "missing backup, no access mode",
			volume: func() *longhorn.Volume {
				v := standbyVolume("denied-b", missingURL)
				v.Spec.AccessMode = ""
				return v
			},
			denied: `admission webhook "mutator.longhorn.io" denied the request: failed to get backup ` + missing +
				`: backup.longhorn.io "` + missing + `" not found`,
		},
		{
			name: "volume that is not standby without a frontend",
			volume: func() *longhorn.Volume {
				return &longhorn.Volume{
					ObjectMeta: metav1.ObjectMeta{Name: "denied-c", Namespace: longhorn.DefaultNamespace},
					Spec:       longhorn.VolumeSpec{Size: 1 << 30, NumberOfReplicas: 1},
				}
			},
			denied: `admission webhook "validator.longhorn.io" denied the request: invalid volume frontend specified:  for data engine v1 `,
		},
		{
			name:   "backup present",
			volume: func() *longhorn.Volume { return standbyVolume("admitted-2", b.Status.URL) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := west.c.Create(t.Context(), tt.volume())
			if tt.denied == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(HaveOccurred())
			g.Expect(err.Error()).To(Equal(tt.denied))
		})
	}

	t.Run("backup target change while standby volumes exist", func(t *testing.T) {
		g := NewWithT(t)
		err := mergePatch(t, west, &longhorn.BackupTarget{ObjectMeta: metav1.ObjectMeta{Name: longhorn.DefaultBackupTargetName}},
			map[string]any{"spec": map[string]any{"backupTargetURL": "s3://elsewhere@us-east-1/"}})
		g.Expect(err).To(HaveOccurred())
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue())
		g.Expect(err.Error()).To(HavePrefix(`admission webhook "validator.longhorn.io" denied the request: cannot modify BackupTarget since there are existing standby volumes: map[`))
		g.Expect(err.Error()).To(ContainSubstring("admitted:{}"))
		g.Expect(err.Error()).To(ContainSubstring("admitted-2:{}"))
	})

	t.Run("REST actions refused on a standby volume", func(t *testing.T) {
		g := NewWithT(t)
		_, err := west.sim.Backup(t.Context(), "admitted", nil)
		g.Expect(errors.Is(err, ErrRefused)).To(BeTrue())
		g.Expect(err.Error()).To(Equal("failed to create backup for standby volume admitted"))
		_, err = west.sim.CreatePV(t.Context(), "admitted", "", "")
		g.Expect(err).To(MatchError("failed to create PV for standby volume admitted"))
		_, err = west.sim.CreatePVC(t.Context(), "admitted", "admitted", "default", "data")
		g.Expect(err).To(MatchError("failed to create PVC for standby volume admitted"))
		g.Expect(west.sim.Expand(t.Context(), "admitted", 4<<30)).To(MatchError("failed to manually expand standby volume admitted"))
		g.Expect(west.sim.Detach(t.Context(), "admitted")).To(MatchError(ContainSubstring("cannot detach standby volume admitted")))
		g.Expect(west.sim.Attach(t.Context(), "admitted")).To(MatchError(ContainSubstring("volume admitted is restoring data")))
		g.Expect(west.sim.Activate(t.Context(), "admitted", longhorn.VolumeFrontendNvmf)).
			To(MatchError("unable to activate volume admitted: invalid frontend nvmf"))
	})

	t.Run("REST activation", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(func() bool { return getVolume(t, west, "admitted-2").Status.IsStandby }).
			WithTimeout(timeout).WithPolling(poll).Should(BeTrue())
		g.Expect(west.sim.Activate(t.Context(), "admitted-2", longhorn.VolumeFrontendBlockDev)).To(Succeed())
		err := west.sim.Activate(t.Context(), "admitted-2", longhorn.VolumeFrontendBlockDev)
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(SatisfyAny(
			Equal("unable to activate volume admitted-2: volume admitted-2 is being activated"),
			Equal("unable to activate volume admitted-2: volume admitted-2 is already in active mode")))
		g.Eventually(func(g Gomega) {
			g.Expect(longhorn.ActivationSettled(getVolume(t, west, "admitted-2"))).To(BeTrue())
		}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		g.Expect(west.sim.Activate(t.Context(), "admitted-2", longhorn.VolumeFrontendBlockDev)).
			To(MatchError("unable to activate volume admitted-2: volume admitted-2 is already in active mode"))
		pv, err := west.sim.CreatePV(t.Context(), "admitted-2", "", "")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pv.Spec.CSI.Driver).To(Equal("driver.longhorn.io"))
		g.Expect(pv.Spec.CSI.VolumeHandle).To(Equal("admitted-2"))
	})
}

// A standby volume is created from an older backup: it restores it, then follows to the newest.
// A paused west denies admission and holds its restores; the backup store cut off from west
// makes west's target unavailable, with Longhorn's condition, until it is back.
func TestFaults(t *testing.T) {
	requireEnv(t)
	east, west := env.east, env.west
	_, first := standbyFromEast(t, "faults")

	t.Run("paused cluster", func(t *testing.T) {
		g := NewWithT(t)
		west.sim.SetPaused(true)
		t.Cleanup(func() { west.sim.SetPaused(false) })
		err := west.c.Create(t.Context(), standbyVolume("faults-paused", first.Status.URL))
		g.Expect(err).To(MatchError(ContainSubstring(errPaused.Error())))
		g.Expect(east.sim.WriteVolume(t.Context(), "faults", 0, randomBytes(t, testBlockSize))).To(Succeed())
		nb := backupNow(t, east, "faults")
		// Longhorn's webhooks are down with it: even a sync request is refused.
		err = mergePatch(t, west, &longhorn.BackupTarget{ObjectMeta: metav1.ObjectMeta{Name: longhorn.DefaultBackupTargetName}},
			map[string]any{"spec": map[string]any{"syncRequestedAt": time.Now().UTC().Format(time.RFC3339)}})
		g.Expect(err).To(MatchError(ContainSubstring(errPaused.Error())))
		g.Consistently(func() error {
			return west.c.Get(t.Context(), key(nb.Name), &longhorn.Backup{})
		}).WithTimeout(3*time.Second).WithPolling(poll).ShouldNot(Succeed(), "west's poll does not run while paused")
		west.sim.SetPaused(false)
		requestTargetSync(t, west)
		data, err := east.sim.ReadVolume(t.Context(), "faults")
		g.Expect(err).NotTo(HaveOccurred())
		waitRestored(t, west, "faults", nb.Name, data, timeout)
	})

	t.Run("store unreachable from west", func(t *testing.T) {
		g := NewWithT(t)
		west.sim.SetStoreReachable(false)
		t.Cleanup(func() { west.sim.SetStoreReachable(true) })
		requestTargetSync(t, west)
		var bt longhorn.BackupTarget
		g.Eventually(func(g Gomega) {
			g.Expect(west.c.Get(t.Context(), key(longhorn.DefaultBackupTargetName), &bt)).To(Succeed())
			g.Expect(bt.Status.Available).To(BeFalse())
		}).WithTimeout(10 * time.Second).WithPolling(poll).Should(Succeed())
		c := longhorn.FindCondition(bt.Status.Conditions, longhorn.BackupTargetConditionTypeUnavailable)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(longhorn.ConditionStatusTrue))
		g.Expect(c.Message).To(Equal("failed to list system backups in " + env.store.URL() + ": " + backupstore.ErrUnreachable.Error()))

		g.Expect(east.sim.WriteVolume(t.Context(), "faults", 0, randomBytes(t, testBlockSize))).To(Succeed())
		nb := backupNow(t, east, "faults")
		requestTargetSync(t, west)
		g.Consistently(func() error {
			return west.c.Get(t.Context(), key(nb.Name), &longhorn.Backup{})
		}).WithTimeout(2 * time.Second).WithPolling(poll).ShouldNot(Succeed())

		west.sim.SetStoreReachable(true)
		g.Eventually(func(g Gomega) {
			g.Expect(west.c.Get(t.Context(), key(longhorn.DefaultBackupTargetName), &bt)).To(Succeed())
			g.Expect(bt.Status.Available).To(BeTrue())
		}).WithTimeout(10 * time.Second).WithPolling(poll).Should(Succeed())
		waitBackup(t, west, nb.Name, 10*time.Second)
	})
}
