package longhornsim

import (
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

// backupsOf lists the Backup CRs of a volume on sc, by name.
func backupsOf(t *testing.T, sc *simCluster, volume string) []string {
	t.Helper()
	var list longhorn.BackupList
	NewWithT(t).Expect(sc.c.List(t.Context(), &list, client.InNamespace(longhorn.DefaultNamespace),
		client.MatchingLabels(longhorn.BackupVolumeLabels(longhorn.DefaultBackupTargetName, volume)))).To(Succeed())
	var names []string
	for _, b := range list.Items {
		if b.DeletionTimestamp == nil {
			names = append(names, b.Name)
		}
	}
	slices.Sort(names)
	return names
}

// A "* * * * *" job fires on its cron for the volumes bound by job or group label, and skips a
// detached volume (task backup).
func TestCronFires(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	east := env.east
	job := &longhorn.RecurringJob{
		ObjectMeta: metav1.ObjectMeta{Name: "every-minute", Namespace: longhorn.DefaultNamespace},
		Spec: longhorn.RecurringJobSpec{Name: "every-minute", Task: longhorn.RecurringJobTaskBackup,
			Cron: "* * * * *", Retain: 3, Groups: []string{"minutely"}},
	}
	g.Expect(east.c.Create(t.Context(), job)).To(Succeed())
	sourceVolume(t, east, "cron-by-job", "every-minute", randomBytes(t, testBlockSize))
	grouped := &longhorn.Volume{
		ObjectMeta: metav1.ObjectMeta{Name: "cron-by-group", Namespace: longhorn.DefaultNamespace,
			Labels: map[string]string{longhorn.RecurringJobGroupLabel("minutely"): longhorn.LabelValueEnabled}},
		Spec: longhorn.VolumeSpec{Size: 16 << 20, Frontend: longhorn.VolumeFrontendBlockDev, NumberOfReplicas: 1},
	}
	g.Expect(east.c.Create(t.Context(), grouped)).To(Succeed())
	g.Expect(east.sim.Attach(t.Context(), grouped.Name)).To(Succeed())
	detached := &longhorn.Volume{
		ObjectMeta: metav1.ObjectMeta{Name: "cron-detached", Namespace: longhorn.DefaultNamespace,
			Labels: map[string]string{longhorn.RecurringJobLabel("every-minute"): longhorn.LabelValueEnabled}},
		Spec: longhorn.VolumeSpec{Size: 16 << 20, Frontend: longhorn.VolumeFrontendBlockDev, NumberOfReplicas: 1},
	}
	g.Expect(east.c.Create(t.Context(), detached)).To(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(backupsOf(t, east, "cron-by-job")).To(HaveLen(1))
		g.Expect(backupsOf(t, east, "cron-by-group")).To(HaveLen(1))
	}).WithTimeout(75 * time.Second).WithPolling(time.Second).Should(Succeed())
	var b longhorn.Backup
	g.Expect(east.c.Get(t.Context(), key(backupsOf(t, east, "cron-by-job")[0]), &b)).To(Succeed())
	g.Expect(b.Spec.Labels).To(HaveKeyWithValue(recurringJobLabel, "every-minute"))
	g.Expect(b.Spec.SnapshotName).To(HavePrefix("recurrin-"))
	g.Expect(backupsOf(t, east, "cron-detached")).To(BeEmpty())
	g.Expect(east.c.Get(t.Context(), key(job.Name), job)).To(Succeed())
	g.Expect(job.Status.ExecutionCount).To(BeNumerically(">=", 1))

	g.Expect(east.c.Delete(t.Context(), job)).To(Succeed())
	g.Eventually(func() map[string]string { return getVolume(t, east, "cron-by-job").Labels }).
		WithTimeout(timeout).WithPolling(poll).ShouldNot(HaveKey(longhorn.RecurringJobLabel("every-minute")))
}

// Retention keeps spec.retain backups per volume, in the store and as CRs in both clusters;
// concurrency bounds the backups under way; a volume still restoring is skipped.
func TestRetentionAndConcurrency(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	east, west := env.east, env.west
	backupJob(t, east, "retain", "0 0 1 1 *", 2, 2)
	vols := []string{"retain-a", "retain-b", "retain-c"}
	for _, v := range vols {
		sourceVolume(t, east, v, "retain", randomBytes(t, testBlockSize))
	}
	east.sim.SetLatencies(Latencies{Backup: 500 * time.Millisecond})
	t.Cleanup(func() { east.sim.SetLatencies(Latencies{}) })

	var runs [][]string
	for i := range 3 {
		for _, v := range vols {
			g.Expect(east.sim.WriteVolume(t.Context(), v, 0, randomBytes(t, testBlockSize))).To(Succeed())
		}
		start := time.Now()
		made, err := east.sim.RunRecurringJob(t.Context(), "retain")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(made).To(HaveLen(3))
		took := time.Since(start)
		t.Logf("run %d: 3 volumes, concurrency 2, 0.5 s uploads: %s", i, took)
		g.Expect(took).To(BeNumerically(">=", time.Second), "two rounds of uploads")
		runs = append(runs, made)
	}
	for _, v := range vols {
		// Pruning deletes Backup CRs; their finalizer removes the data from the store, shortly after.
		var names []string
		g.Eventually(func(g Gomega) {
			var err error
			names, err = env.store.BackupNames(v)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(names).To(HaveLen(2), "store keeps retain=2 backups of %s", v)
		}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		for _, first := range runs[0] {
			g.Expect(names).NotTo(ContainElement(first))
		}
		g.Eventually(func() []string { return backupsOf(t, east, v) }).
			WithTimeout(timeout).WithPolling(poll).Should(Equal(names))
	}
	requestTargetSync(t, west)
	for _, v := range vols {
		names, err := env.store.BackupNames(v)
		g.Expect(err).NotTo(HaveOccurred())
		g.Eventually(func() []string { return backupsOf(t, west, v) }).
			WithTimeout(timeout).WithPolling(poll).Should(Equal(names))
	}

	t.Run("volumes still restoring are skipped", func(t *testing.T) {
		g := NewWithT(t)
		_, _ = standbyFromEast(t, "retain-standby")
		job := &longhorn.RecurringJob{
			ObjectMeta: metav1.ObjectMeta{Name: "west-default", Namespace: longhorn.DefaultNamespace},
			Spec: longhorn.RecurringJobSpec{Name: "west-default", Task: longhorn.RecurringJobTaskBackup,
				Cron: "0 0 1 1 *", Retain: 1, Groups: []string{longhorn.DefaultRecurringJobGroup}},
		}
		g.Expect(west.c.Create(t.Context(), job)).To(Succeed())
		v := getVolume(t, west, "retain-standby")
		g.Expect(v.Labels).To(HaveKeyWithValue(longhorn.RecurringJobGroupLabel(longhorn.DefaultRecurringJobGroup), longhorn.LabelValueEnabled))
		made, err := west.sim.RunRecurringJob(t.Context(), "west-default")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(made).To(BeEmpty())
	})
}
