package longhornsim

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// waitPulled waits for a Backup CR on sc and returns it.
func waitPulled(t *testing.T, sc *simCluster, name string) *longhorn.Backup {
	t.Helper()
	var b longhorn.Backup
	NewWithT(t).Eventually(func() error { return sc.c.Get(t.Context(), key(name), &b) }).
		WithTimeout(10 * time.Second).WithPolling(poll).Should(Succeed())
	return &b
}

// Backups in progress are listed in the DR cluster (REFERENCE §10.10, §10.11): backupstore's
// performBackup (deltablock.go) writes the backup's config first, so a BackupVolume sync
// (backup_volume_controller.go) during the upload pulls a Backup CR whose status.state stays
// empty until a sync after the upload, and whose spec.backupBlockSize is -1 for good, its config
// not being readable at pull time ("backup ... is still in progress"); the volume validator
// (validator.go Create, types.ValidateBackupBlockSize) then refuses a standby volume from it.
// SetBackupConfigsReadable(false) makes any pull do the same.
func TestBackupPulledInProgress(t *testing.T) {
	requireEnv(t)
	east, west := env.east, env.west
	backupJob(t, east, "inprog", "0 0 1 1 *", 5, 1)
	sourceVolume(t, east, "inprog", "inprog", randomBytes(t, 2*testBlockSize))
	refused := validatorDenied + "unsupported BackupBlockSize: -1"
	standbyRefused := func(t *testing.T, b *longhorn.Backup) {
		// The webhooks read a cache: retry like a client until the completed Backup is seen.
		NewWithT(t).Eventually(func() error {
			return west.c.Create(t.Context(), standbyVolume("inprog", b.Status.URL))
		}).WithTimeout(5 * time.Second).WithPolling(poll).Should(MatchError(refused))
	}

	t.Run("pulled while uploading", func(t *testing.T) {
		g := NewWithT(t)
		was := east.sim.currentLatencies()
		slow := was
		slow.Backup = 3 * time.Second
		east.sim.SetLatencies(slow)
		t.Cleanup(func() { east.sim.SetLatencies(was) })
		name, err := east.sim.Backup(t.Context(), "inprog", nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Eventually(func() longhorn.BackupState {
			var b longhorn.Backup
			_ = east.c.Get(t.Context(), key(name), &b)
			return b.Status.State
		}).WithTimeout(timeout).WithPolling(poll).Should(Equal(longhorn.BackupStateInProgress))
		requestTargetSync(t, west)
		b := waitPulled(t, west, name)
		g.Expect(b.Annotations).To(HaveKeyWithValue(AnnotationBackupBlockSize, "-1"))
		g.Consistently(func() longhorn.BackupState {
			_ = west.c.Get(t.Context(), key(name), b)
			return b.Status.State
		}).WithTimeout(time.Second).WithPolling(poll).Should(Equal(longhorn.BackupStateNew), "empty while in progress")

		waitBackup(t, east, name, timeout)
		requestTargetSync(t, west)
		b = waitBackup(t, west, name, 10*time.Second)
		g.Expect(b.Annotations).To(HaveKeyWithValue(AnnotationBackupBlockSize, "-1"), "for good")
		standbyRefused(t, b)
	})

	t.Run("pulled while configs cannot be read", func(t *testing.T) {
		g := NewWithT(t)
		west.sim.SetBackupConfigsReadable(false)
		t.Cleanup(func() { west.sim.SetBackupConfigsReadable(true) })
		nb := backupNow(t, east, "inprog")
		requestTargetSync(t, west)
		b := waitPulled(t, west, nb.Name)
		g.Expect(b.Annotations).To(HaveKeyWithValue(AnnotationBackupBlockSize, "-1"))
		g.Expect(b.Status.State).To(Equal(longhorn.BackupStateNew))
		west.sim.SetBackupConfigsReadable(true)
		// Nothing changed in the store since: the Backup is read again on its informer's resync
		// (30 s) or when asked to sync, after its syncRequestedAt at the API's second precision.
		time.Sleep(1100 * time.Millisecond)
		g.Expect(mergePatch(t, west, &longhorn.Backup{ObjectMeta: metav1.ObjectMeta{Name: nb.Name}},
			map[string]any{"spec": map[string]any{"syncRequestedAt": time.Now().UTC().Format(time.RFC3339)}})).To(Succeed())
		b = waitBackup(t, west, nb.Name, 10*time.Second)
		g.Expect(b.Annotations).To(HaveKeyWithValue(AnnotationBackupBlockSize, "-1"))
		standbyRefused(t, b)
	})

	t.Run("pulled when complete and readable", func(t *testing.T) {
		g := NewWithT(t)
		nb := backupNow(t, east, "inprog")
		requestTargetSync(t, west)
		b := waitBackup(t, west, nb.Name, 10*time.Second)
		g.Expect(b.Annotations).To(HaveKeyWithValue(AnnotationBackupBlockSize, "2097152"))
		g.Eventually(func() error {
			return west.c.Create(t.Context(), standbyVolume("inprog", b.Status.URL))
		}).WithTimeout(5 * time.Second).WithPolling(poll).Should(Succeed())
	})
}
