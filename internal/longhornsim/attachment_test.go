package longhornsim

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// A Snapshot CR of a detached volume waits for an attachment (REFERENCE §10.9):
// snapshot_controller.go reconcile takes an attachment ticket and, while the engine does not
// run, sets the transient status.error "failed to take snapshot because the volume engine <e>
// is not running. Waiting for the volume to be attached"; the snapshot is taken once attached
// and the volume detached again. A Backup CR of it attaches the volume the same way
// (backup_controller.go handleAttachmentTicketCreation, checkMonitor's VerifyAttachment): each
// costs an attach/detach cycle, each attach taking Latencies.Attach.
func TestSnapshotOfDetachedVolume(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	east := env.east
	v := &longhorn.Volume{
		ObjectMeta: metav1.ObjectMeta{Name: "att-src", Namespace: longhorn.DefaultNamespace},
		Spec:       longhorn.VolumeSpec{Size: 16 << 20, Frontend: longhorn.VolumeFrontendBlockDev, NumberOfReplicas: 2},
	}
	g.Expect(east.c.Create(t.Context(), v)).To(Succeed())
	data := randomBytes(t, 2*testBlockSize)
	g.Expect(east.sim.WriteVolume(t.Context(), "att-src", 0, data)).To(Succeed())
	g.Eventually(func() longhorn.VolumeState { return getVolume(t, east, "att-src").Status.State }).
		WithTimeout(timeout).WithPolling(poll).Should(Equal(longhorn.VolumeStateDetached))
	was := east.sim.currentLatencies()
	slow := was
	slow.Attach = 1500 * time.Millisecond
	east.sim.SetLatencies(slow)
	t.Cleanup(func() { east.sim.SetLatencies(was) })

	detachedAt := func() time.Time {
		at, _, err := RecordedTime(getVolume(t, east, "att-src"), AnnotationDetachedAt)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		return at
	}
	// cycle waits for the volume to be attaching (it takes Latencies.Attach; attached may last a
	// moment only) and then detached again, after after.
	cycle := func(t *testing.T, after time.Time) time.Time {
		g := NewWithT(t)
		g.Eventually(func() longhorn.VolumeState { return getVolume(t, east, "att-src").Status.State }).
			WithTimeout(timeout).WithPolling(20 * time.Millisecond).Should(Equal(longhorn.VolumeStateAttaching))
		var at time.Time
		g.Eventually(func(g Gomega) {
			g.Expect(getVolume(t, east, "att-src").Status.State).To(Equal(longhorn.VolumeStateDetached))
			at = detachedAt()
			g.Expect(at).To(BeTemporally(">", after))
		}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		return at
	}
	start := detachedAt()

	var snapDetached time.Time
	t.Run("snapshot: transient error, attach, snapshot, detach", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(east.c.Create(t.Context(), snapshotCR("att-snap", "att-src"))).To(Succeed())
		g.Eventually(func(g Gomega) {
			var snap longhorn.Snapshot
			g.Expect(east.c.Get(t.Context(), key("att-snap"), &snap)).To(Succeed())
			g.Expect(snap.Status.Error).To(Equal(fmt.Sprintf(
				"failed to take snapshot because the volume engine %s is not running. Waiting for the volume to be attached", longhorn.EngineName("att-src"))))
			g.Expect(snap.Status.ReadyToUse).To(BeFalse())
		}).WithTimeout(timeout).WithPolling(20 * time.Millisecond).Should(Succeed())
		snapDetached = cycle(t, start)
		snap := waitSnapshotReady(t, east, "att-snap")
		g.Expect(snap.Status.Error).To(BeEmpty(), "the error was transient")
	})

	t.Run("backup of the snapshot: attach, upload, detach", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(east.c.Create(t.Context(), backupCR("backup-00000000000000e1", "att-src", "att-snap"))).To(Succeed())
		cycle(t, snapDetached)
		b := waitBackup(t, east, "backup-00000000000000e1", timeout)
		got, err := env.store.ReadBackupData("att-src", b.Name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(data))
	})
}
