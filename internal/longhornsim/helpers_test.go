package longhornsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	goldenfile "github.com/drplan/drplan/internal/golden"
	"github.com/drplan/drplan/internal/longhorn"
)

const (
	timeout = 30 * time.Second
	poll    = 100 * time.Millisecond
)

// golden compares got with testdata/<name>; UPDATE_GOLDEN=1 rewrites the file.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Assert(t, filepath.Join("testdata", name), got)
}

// ctxOf is the test's context, or a background one in cleanups (after the test's ends).
func ctxOf(t *testing.T) context.Context {
	if ctx := t.Context(); ctx.Err() == nil {
		return ctx
	}
	return context.Background()
}

func key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: longhorn.DefaultNamespace, Name: name}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// mergePatch merge-patches obj with patch (a map marshalled to JSON).
func mergePatch(t *testing.T, sc *simCluster, obj client.Object, patch map[string]any) error {
	t.Helper()
	raw, err := json.Marshal(patch)
	if err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(longhorn.DefaultNamespace)
	return sc.c.Patch(ctxOf(t), obj, client.RawPatch("application/merge-patch+json", raw))
}

// sourceVolume creates an attached volume bound to job on sc and writes data into it.
func sourceVolume(t *testing.T, sc *simCluster, name, job string, data []byte) {
	t.Helper()
	g := NewWithT(t)
	v := &longhorn.Volume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: longhorn.DefaultNamespace,
			Labels: map[string]string{longhorn.RecurringJobLabel(job): longhorn.LabelValueEnabled}},
		Spec: longhorn.VolumeSpec{Size: 16 << 20, Frontend: longhorn.VolumeFrontendBlockDev, NumberOfReplicas: 3},
	}
	g.Expect(sc.c.Create(t.Context(), v)).To(Succeed())
	g.Expect(sc.sim.Attach(t.Context(), name)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(sc.c.Get(t.Context(), key(name), v)).To(Succeed())
		g.Expect(v.Status.State).To(Equal(longhorn.VolumeStateAttached))
		g.Expect(v.Status.Robustness).To(Equal(longhorn.VolumeRobustnessHealthy))
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	g.Expect(sc.sim.WriteVolume(t.Context(), name, 0, data)).To(Succeed())
}

// backupJob creates a backup RecurringJob on sc.
func backupJob(t *testing.T, sc *simCluster, name, cron string, retain, concurrency int) {
	t.Helper()
	job := &longhorn.RecurringJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: longhorn.DefaultNamespace},
		Spec: longhorn.RecurringJobSpec{Name: name, Task: longhorn.RecurringJobTaskBackup, Cron: cron,
			Retain: retain, Concurrency: concurrency},
	}
	NewWithT(t).Expect(sc.c.Create(t.Context(), job)).To(Succeed())
}

// backupNow runs job on sc now and returns its one backup.
func backupNow(t *testing.T, sc *simCluster, job string) *longhorn.Backup {
	t.Helper()
	g := NewWithT(t)
	names, err := sc.sim.RunRecurringJob(t.Context(), job)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names).To(HaveLen(1))
	var b longhorn.Backup
	g.Expect(sc.c.Get(t.Context(), key(names[0]), &b)).To(Succeed())
	g.Expect(b.Status.State).To(Equal(longhorn.BackupStateCompleted))
	return &b
}

// waitBackup waits for a Completed Backup CR on sc.
func waitBackup(t *testing.T, sc *simCluster, name string, within time.Duration) *longhorn.Backup {
	t.Helper()
	var b longhorn.Backup
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(sc.c.Get(t.Context(), key(name), &b)).To(Succeed())
		g.Expect(b.Status.State).To(Equal(longhorn.BackupStateCompleted))
	}).WithTimeout(within).WithPolling(poll).Should(Succeed())
	return &b
}

// requestTargetSync sets the default BackupTarget's syncRequestedAt on sc to now.
func requestTargetSync(t *testing.T, sc *simCluster) {
	t.Helper()
	now := time.Now().UTC().Format(time.RFC3339)
	NewWithT(t).Expect(mergePatch(t, sc, &longhorn.BackupTarget{ObjectMeta: metav1.ObjectMeta{Name: longhorn.DefaultBackupTargetName}},
		map[string]any{"spec": map[string]any{"syncRequestedAt": now}})).To(Succeed())
}

// setPollInterval sets the default BackupTarget's pollInterval on sc.
func setPollInterval(t *testing.T, sc *simCluster, d time.Duration) {
	t.Helper()
	NewWithT(t).Expect(mergePatch(t, sc, &longhorn.BackupTarget{ObjectMeta: metav1.ObjectMeta{Name: longhorn.DefaultBackupTargetName}},
		map[string]any{"spec": map[string]any{"pollInterval": d.String()}})).To(Succeed())
}

// setSetting sets a Longhorn Setting on sc.
func setSetting(t *testing.T, sc *simCluster, name, value string) {
	t.Helper()
	NewWithT(t).Expect(mergePatch(t, sc, &longhorn.Setting{ObjectMeta: metav1.ObjectMeta{Name: name}},
		map[string]any{"value": value})).To(Succeed())
}

// standbyVolume creates a standby volume on sc from a backup URL, as the docs' manifest does.
func standbyVolume(name, fromBackup string) *longhorn.Volume {
	return &longhorn.Volume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: longhorn.DefaultNamespace},
		Spec: longhorn.VolumeSpec{Size: 2 << 30, AccessMode: longhorn.AccessModeReadWriteOnce, NumberOfReplicas: 3,
			FromBackup: fromBackup, Standby: true},
	}
}

// waitRestored waits until sc's standby volume name has restored backup and holds want.
func waitRestored(t *testing.T, sc *simCluster, name, backup string, want []byte, within time.Duration) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var v longhorn.Volume
		var e longhorn.Engine
		g.Expect(sc.c.Get(t.Context(), key(name), &v)).To(Succeed())
		g.Expect(sc.c.Get(t.Context(), key(longhorn.EngineName(name)), &e)).To(Succeed())
		g.Expect(v.Status.LastBackup).To(Equal(backup))
		g.Expect(e.Status.LastRestoredBackup).To(Equal(backup))
		data, err := sc.sim.ReadVolume(t.Context(), name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(bytes.Equal(data, want)).To(BeTrue(), "data of %s differs from the backup's", name)
	}).WithTimeout(within).WithPolling(poll).Should(Succeed())
}

// activate asks the volume's BackupVolume to sync, then patches spec.Standby false and
// frontend blockdev, as the agent does through the CRs (REFERENCE §9 note 2), in the order of
// Longhorn's own Activate: the other order lets the gate pass before the sync request is seen.
func activate(t *testing.T, sc *simCluster, name string) {
	t.Helper()
	g := NewWithT(t)
	var bvs longhorn.BackupVolumeList
	g.Expect(sc.c.List(t.Context(), &bvs, client.InNamespace(longhorn.DefaultNamespace),
		client.MatchingLabels(longhorn.BackupVolumeLabels(longhorn.DefaultBackupTargetName, name)))).To(Succeed())
	g.Expect(bvs.Items).To(HaveLen(1))
	g.Expect(mergePatch(t, sc, &bvs.Items[0], map[string]any{"spec": map[string]any{
		"syncRequestedAt": time.Now().UTC().Format(time.RFC3339)}})).To(Succeed())
	g.Expect(mergePatch(t, sc, &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: name}},
		map[string]any{"spec": map[string]any{"Standby": false, "frontend": "blockdev"}})).To(Succeed())
}

func getVolume(t *testing.T, sc *simCluster, name string) *longhorn.Volume {
	t.Helper()
	var v longhorn.Volume
	NewWithT(t).Expect(sc.c.Get(t.Context(), key(name), &v)).To(Succeed())
	return &v
}
