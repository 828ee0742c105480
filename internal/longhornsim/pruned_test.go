package longhornsim

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// A standby whose fromBackup Backup CR is gone (REFERENCE §10.2, §10.3): the volume mutator
// (webhook/resources/volume/mutator.go mutate) denies every update of it, so the DR volume's
// own growth (engine_controller.go checkSizeBeforeRestoration, which grows spec.size when a
// newer backup is larger) fails the restore and faults it, and a delete stays in Deleting since
// the finalizer cannot be removed. (The simulator used to let a deleting volume through.)
func TestPrunedFromBackup(t *testing.T) {
	requireEnv(t)
	east, west := env.east, env.west
	_, b1 := standbyFromEast(t, "pruned")
	denied := mutatorDenied + `failed to inspect the backup config ` + b1.Status.URL + `: backup.longhorn.io "` + b1.Name + `" not found`

	t.Run("grows with a larger backup while its fromBackup Backup exists", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(east.sim.Expand(t.Context(), "pruned", 32<<20)).To(Succeed())
		data := randomBytes(t, 3*testBlockSize)
		g.Expect(east.sim.WriteVolume(t.Context(), "pruned", 0, data)).To(Succeed())
		b2 := backupNow(t, east, "pruned")
		requestTargetSync(t, west)
		waitRestored(t, west, "pruned", b2.Name, data, timeout)
		g.Expect(getVolume(t, west, "pruned").Spec.Size).To(Equal(int64(32 << 20)))
	})

	t.Run("updates denied once the fromBackup Backup is gone", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(west.sim.PruneBackup(t.Context(), "pruned", b1.Name)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(west.c.Get(t.Context(), key(b1.Name), &longhorn.Backup{}))
		}).WithTimeout(10 * time.Second).WithPolling(poll).Should(BeTrue())
		// The webhook reads its cache: it may still see the Backup for a moment.
		g.Eventually(func() error {
			return mergePatch(t, west, &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pruned"}},
				map[string]any{"metadata": map[string]any{"labels": map[string]any{"team": "db"}}})
		}).WithTimeout(5 * time.Second).WithPolling(poll).Should(MatchError(denied))
	})

	t.Run("growth denied: the standby faults", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(east.sim.Expand(t.Context(), "pruned", 48<<20)).To(Succeed())
		b2 := getVolume(t, west, "pruned").Status.LastBackup
		newBackupOnEast(t, "pruned", 1)
		requestTargetSync(t, west)
		waitFaulted(t, west, "pruned", b2, "failed pre-restore check for engine pruned-e-0: "+denied)
		g.Expect(getVolume(t, west, "pruned").Spec.Size).To(Equal(int64(32 << 20)))
	})

	t.Run("a delete stays in Deleting", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(west.c.Delete(t.Context(), &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pruned", Namespace: longhorn.DefaultNamespace}})).To(Succeed())
		g.Eventually(func() longhorn.VolumeState { return getVolume(t, west, "pruned").Status.State }).
			WithTimeout(timeout).WithPolling(poll).Should(Equal(longhorn.VolumeStateDeleting))
		g.Consistently(func(g Gomega) {
			v := getVolume(t, west, "pruned")
			g.Expect(v.DeletionTimestamp).NotTo(BeNil())
			g.Expect(v.Finalizers).To(ContainElement(finalizer))
		}).WithTimeout(3 * time.Second).WithPolling(poll).Should(Succeed())
	})

	t.Run("setting Standby false lets the delete finish", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(mergePatch(t, west, &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pruned"}},
			map[string]any{"spec": map[string]any{"Standby": false}})).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(west.c.Get(t.Context(), key("pruned"), &longhorn.Volume{}))
		}).WithTimeout(timeout).WithPolling(poll).Should(BeTrue())
	})
}
