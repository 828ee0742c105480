package longhornsim

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

// A PVC owns its volume's job labels (REFERENCE §10.7, §10.8): once the volume's PV is bound to
// a PVC (kubernetes_pv_controller.go syncKubernetesStatus links them), and that PVC carries
// recurring-job.longhorn.io/source: enabled, volume_controller.go syncPVCRecurringJobLabels
// replaces the volume's job and group labels with the PVC's on every sync, then
// datastore.FixupRecurringJob adds the default group when none is left. The job runner sees
// the synced labels.
func TestPVCRecurringJobLabels(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	east := env.east
	backupJob(t, east, "pvcjob", "0 0 1 1 *", 2, 1)
	sourceVolume(t, east, "pvc-src", "volume-own", randomBytes(t, testBlockSize))
	pv, err := east.sim.CreatePV(t.Context(), "pvc-src", "", "")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = east.sim.CreatePVC(t.Context(), "pvc-src", pv.Name, "default", "pvc-src-data")
	g.Expect(err).NotTo(HaveOccurred())
	patchPVC := func(labels map[string]any) {
		raw, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
		g.Expect(err).NotTo(HaveOccurred())
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "pvc-src-data", Namespace: "default"}}
		g.Expect(east.c.Patch(t.Context(), pvc, client.RawPatch("application/merge-patch+json", raw))).To(Succeed())
	}
	patchVolume := func(labels map[string]any) {
		g.Expect(mergePatch(t, east, &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-src"}},
			map[string]any{"metadata": map[string]any{"labels": labels}})).To(Succeed())
	}
	jobLabels := func() map[string]string {
		out := map[string]string{}
		for k, v := range getVolume(t, east, "pvc-src").Labels {
			if isRecurringJobLabel(k) {
				out[k] = v
			}
		}
		return out
	}
	own, pvcJob := longhorn.RecurringJobLabel("volume-own"), longhorn.RecurringJobLabel("pvcjob")
	defaultGroup := longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup)

	t.Run("a PVC without the source label leaves the volume alone", func(t *testing.T) {
		patchPVC(map[string]any{pvcJob: "enabled"})
		NewWithT(t).Consistently(jobLabels).WithTimeout(2 * time.Second).WithPolling(poll).
			Should(Equal(map[string]string{own: "enabled"}))
	})
	t.Run("with the source label the PVC's job labels replace the volume's", func(t *testing.T) {
		patchPVC(map[string]any{longhorn.RecurringJobSourceLabel: "enabled"})
		NewWithT(t).Eventually(jobLabels).WithTimeout(timeout).WithPolling(poll).
			Should(Equal(map[string]string{pvcJob: "enabled"}))
	})
	t.Run("a job label put on the volume alone goes", func(t *testing.T) {
		patchVolume(map[string]any{longhorn.RecurringJobGroupLabel("extra"): "enabled"})
		NewWithT(t).Eventually(jobLabels).WithTimeout(timeout).WithPolling(poll).
			Should(Equal(map[string]string{pvcJob: "enabled"}))
	})
	t.Run("a job label removed from the volume alone comes back", func(t *testing.T) {
		patchVolume(map[string]any{pvcJob: nil})
		NewWithT(t).Eventually(jobLabels).WithTimeout(timeout).WithPolling(poll).
			Should(Equal(map[string]string{pvcJob: "enabled"}))
	})
	t.Run("the job runner sees the synced label", func(t *testing.T) {
		g := NewWithT(t)
		made, err := east.sim.RunRecurringJob(t.Context(), "pvcjob")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(slices.ContainsFunc(made, func(n string) bool {
			var b longhorn.Backup
			return east.c.Get(t.Context(), key(n), &b) == nil && b.Labels[longhorn.LabelBackupVolume] == "pvc-src"
		})).To(BeTrue(), "backups made: %v", made)
	})
	t.Run("the PVC without job labels: the default group comes back", func(t *testing.T) {
		patchPVC(map[string]any{pvcJob: nil})
		NewWithT(t).Eventually(jobLabels).WithTimeout(timeout).WithPolling(poll).
			Should(Equal(map[string]string{defaultGroup: "enabled"}))
	})
}
