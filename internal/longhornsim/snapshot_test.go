package longhornsim

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/drplan/drplan/internal/longhorn"
)

const (
	mutatorDenied   = `admission webhook "mutator.longhorn.io" denied the request: `
	validatorDenied = `admission webhook "validator.longhorn.io" denied the request: `
)

func snapshotCR(name, volume string) *longhorn.Snapshot {
	return &longhorn.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: longhorn.DefaultNamespace},
		Spec:       longhorn.SnapshotSpec{Volume: volume, CreateSnapshot: true},
	}
}

func backupCR(name, volume, snapshot string) *longhorn.Backup {
	return &longhorn.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: longhorn.DefaultNamespace,
			Labels: longhorn.BackupVolumeLabels(longhorn.DefaultBackupTargetName, volume)},
		Spec: longhorn.BackupSpec{SnapshotName: snapshot, BackupMode: longhorn.BackupModeIncremental},
	}
}

// waitSnapshotReady waits for a Snapshot CR on sc to be readyToUse and returns it.
func waitSnapshotReady(t *testing.T, sc *simCluster, name string) *longhorn.Snapshot {
	t.Helper()
	var snap longhorn.Snapshot
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(sc.c.Get(t.Context(), key(name), &snap)).To(Succeed())
		g.Expect(snap.Status.ReadyToUse).To(BeTrue())
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	return &snap
}

// Longhorn's admission of Snapshot and Backup CRs: a Backup naming a snapshot needs that
// Snapshot CR, of the volume it is labelled with; a Snapshot needs its volume.
func TestSnapshotAndBackupAdmission(t *testing.T) {
	requireEnv(t)
	east := env.east
	sourceVolume(t, east, "adm-a", "adm", randomBytes(t, testBlockSize))
	sourceVolume(t, east, "adm-b", "adm", randomBytes(t, testBlockSize))
	NewWithT(t).Expect(east.c.Create(t.Context(), snapshotCR("adm-snap", "adm-a"))).To(Succeed())
	waitSnapshotReady(t, east, "adm-snap")

	tests := []struct {
		name   string
		obj    client.Object
		denied string
	}{
		{
			name: "backup without its snapshot", obj: backupCR("backup-00000000000000a1", "adm-a", "no-such-snapshot"),
			denied: validatorDenied + "snapshot <nil> is invalid",
		},
		{
			name: "backup of another volume's snapshot", obj: backupCR("backup-00000000000000a2", "adm-b", "adm-snap"),
			denied: validatorDenied + "snapshot volume name adm-a and label volume name adm-b does not match",
		},
		{
			name:   "snapshot of a missing volume",
			obj:    snapshotCR("adm-missing", "no-such-volume"),
			denied: mutatorDenied + `failed to get volume no-such-volume: volume.longhorn.io "no-such-volume" not found`,
		},
		{
			name:   "snapshot without a volume",
			obj:    snapshotCR("adm-novolume", ""),
			denied: mutatorDenied + `failed to get volume : volume.longhorn.io "" not found`,
		},
		{name: "backup of its snapshot", obj: backupCR("backup-00000000000000a3", "adm-a", "adm-snap")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The webhooks read a cache, as Longhorn's read informers: retry like a client.
			create := func() error { return east.c.Create(t.Context(), tt.obj.DeepCopyObject().(client.Object)) }
			if tt.denied == "" {
				NewWithT(t).Eventually(create).WithTimeout(5 * time.Second).WithPolling(poll).Should(Succeed())
				return
			}
			NewWithT(t).Eventually(create).WithTimeout(5 * time.Second).WithPolling(poll).Should(MatchError(tt.denied))
		})
	}

	t.Run("snapshot volume is immutable", func(t *testing.T) {
		g := NewWithT(t)
		err := mergePatch(t, east, &longhorn.Snapshot{ObjectMeta: metav1.ObjectMeta{Name: "adm-snap"}},
			map[string]any{"spec": map[string]any{"volume": "adm-b"}})
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(Equal(validatorDenied + "spec.volume field is immutable"))
	})
	t.Run("mutator labels and owns the snapshot", func(t *testing.T) {
		g := NewWithT(t)
		snap := waitSnapshotReady(t, east, "adm-snap")
		g.Expect(snap.Labels).To(HaveKeyWithValue(longhorn.LabelSnapshotVolume, "adm-a"))
		g.Expect(snap.Finalizers).To(ContainElement(finalizer))
		g.Expect(snap.OwnerReferences).To(HaveLen(1))
		g.Expect(snap.OwnerReferences[0].Name).To(Equal("adm-a"))
	})
}

// The Backup validator's checks that need objects the test clusters cannot easily hold (a
// second, available BackupTarget), on a fake lookup.
func TestValidateBackupCreate(t *testing.T) {
	vol := func(target string) *longhorn.Volume {
		v := &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "pg-data"}}
		v.Spec.BackupTargetName = target
		return v
	}
	tests := []struct {
		name   string
		volume *longhorn.Volume
		backup func(b *longhorn.Backup)
		denied string
	}{
		{name: "consistent", volume: vol("default")},
		{
			name: "volume on another target", volume: vol("other"),
			denied: "volume backup target other and label backup target default does not match",
		},
		{
			name: "volume gone", volume: nil,
			denied: "volume %v is invalid", // Longhorn prints the snapshot there
		},
		{
			name: "no target label", volume: vol("default"),
			backup: func(b *longhorn.Backup) { delete(b.Labels, longhorn.LabelBackupTarget) },
			denied: "missing backup target label on backup object",
		},
		{
			name: "mode not mutated", volume: vol("default"),
			backup: func(b *longhorn.Backup) { b.Spec.BackupMode = "" },
			denied: "BackupMode  is not a valid option",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			lk := newFakeLookup()
			lk.targets[longhorn.DefaultBackupTargetName].Status.Available = true
			lk.snapshots = map[string]*longhorn.Snapshot{"pg-snap": {
				ObjectMeta: metav1.ObjectMeta{Name: "pg-snap"}, Spec: longhorn.SnapshotSpec{Volume: "pg-data", CreateSnapshot: true}}}
			if tt.volume != nil {
				lk.volumes = map[string]*longhorn.Volume{tt.volume.Name: tt.volume}
			}
			b := backupCR("backup-00000000000000b1", "pg-data", "pg-snap")
			if tt.backup != nil {
				tt.backup(b)
			}
			aerr := validateBackupCreate(t.Context(), lk, b)
			if tt.denied == "" {
				g.Expect(aerr).To(BeNil())
				return
			}
			want := tt.denied
			if strings.Contains(want, "%v") {
				want = fmt.Sprintf(want, lk.snapshots["pg-snap"])
			}
			g.Expect(aerr).NotTo(BeNil())
			g.Expect(aerr.message).To(Equal(want))
		})
	}
}

// A Snapshot CR captures the volume's data as of when it is taken: a Backup of it made later,
// after more writes, holds the snapshot's data, and a volume restored from that backup
// elsewhere holds it too. The backup's snapshotCreatedAt is the snapshot's creation time.
func TestSnapshotBackupRestore(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	east, west := env.east, env.west
	before := randomBytes(t, 3*testBlockSize)
	sourceVolume(t, east, "snap-src", "snap", before)
	g.Expect(east.c.Create(t.Context(), snapshotCR("snap-src-1", "snap-src"))).To(Succeed())
	snap := waitSnapshotReady(t, east, "snap-src-1")
	g.Expect(snap.Status.UserCreated).To(BeTrue())
	g.Expect(snap.Status.Size).To(Equal(int64(len(before))))
	g.Expect(snap.Status.RestoreSize).To(Equal(int64(16 << 20)))
	g.Expect(snap.Status.Error).To(BeEmpty())
	created, err := time.Parse(time.RFC3339, snap.Status.CreationTime)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(east.sim.WriteVolume(t.Context(), "snap-src", 0, randomBytes(t, testBlockSize))).To(Succeed())
	time.Sleep(1100 * time.Millisecond) // the snapshot's time has a one-second resolution
	g.Expect(east.c.Create(t.Context(), backupCR("backup-00000000000000c1", "snap-src", "snap-src-1"))).To(Succeed())
	b := waitBackup(t, east, "backup-00000000000000c1", timeout)
	g.Expect(b.Status.SnapshotName).To(Equal("snap-src-1"))
	g.Expect(b.Status.SnapshotCreatedAt.Equal(longhorn.NewTimestamp(created))).To(BeTrue(), "snapshotCreatedAt %s, snapshot taken %s", b.Status.SnapshotCreatedAt, created)

	requestTargetSync(t, west)
	waitBackup(t, west, b.Name, 10*time.Second)
	g.Eventually(func() error {
		return west.c.Create(t.Context(), standbyVolume("snap-src", b.Status.URL))
	}).WithTimeout(5 * time.Second).WithPolling(poll).Should(Succeed())
	waitRestored(t, west, "snap-src", b.Name, before, timeout)

	t.Run("on-demand snapshot stays after its backup", func(t *testing.T) {
		NewWithT(t).Expect(east.c.Get(t.Context(), key("snap-src-1"), &longhorn.Snapshot{})).To(Succeed())
	})
}

// A Backup whose snapshot is not ready yet waits Pending, and fails after maxCreationRetry
// looks (one per backupResync in the controller; the test looks itself).
func TestBackupWaitsForSnapshot(t *testing.T) {
	requireEnv(t)
	east := env.east
	sourceVolume(t, east, "wait-src", "wait", randomBytes(t, testBlockSize))
	was := east.sim.currentLatencies()
	slow := was
	slow.Snapshot = time.Hour
	east.sim.SetLatencies(slow)
	t.Cleanup(func() { east.sim.SetLatencies(was) })
	NewWithT(t).Expect(east.c.Create(t.Context(), snapshotCR("wait-snap", "wait-src"))).To(Succeed())
	NewWithT(t).Expect(east.c.Create(t.Context(), backupCR("backup-00000000000000d1", "wait-src", "wait-snap"))).To(Succeed())

	t.Run("pending while the snapshot is not ready", func(t *testing.T) {
		g := NewWithT(t)
		var b longhorn.Backup
		g.Eventually(func(g Gomega) {
			g.Expect(east.c.Get(t.Context(), key("backup-00000000000000d1"), &b)).To(Succeed())
			g.Expect(b.Status.State).To(Equal(longhorn.BackupStatePending))
		}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		var snap longhorn.Snapshot
		g.Expect(east.c.Get(t.Context(), key("wait-snap"), &snap)).To(Succeed())
		g.Expect(snap.Status.ReadyToUse).To(BeFalse())
		g.Expect(snap.Status.CreationTime).To(BeEmpty())
	})
	t.Run("error after the retries", func(t *testing.T) {
		g := NewWithT(t)
		var b longhorn.Backup
		g.Expect(east.c.Get(t.Context(), key("backup-00000000000000d1"), &b)).To(Succeed())
		// The controller looks once per backupResync; the test looks for it, up to the limit.
		for range maxCreationRetry {
			g.Expect(east.c.Get(t.Context(), key("backup-00000000000000d1"), &b)).To(Succeed())
			if b.Status.State == longhorn.BackupStateError {
				break
			}
			_, err := east.sim.waitForSnapshot(t.Context(), &b, "waiting", "Failed waiting for the snapshot wait-snap to be ready")
			g.Expect(err).NotTo(HaveOccurred())
		}
		g.Expect(east.c.Get(t.Context(), key("backup-00000000000000d1"), &b)).To(Succeed())
		g.Expect(b.Status.State).To(Equal(longhorn.BackupStateError))
		g.Expect(b.Status.Error).To(Equal("Failed waiting for the snapshot wait-snap to be ready"))
	})
}

// Recurring-job backups make their own Snapshot CRs; the job keeps only the current one of
// each volume (auto-cleanup-recurring-job-backup-snapshot), whose data the backup holds.
func TestRecurringJobSnapshots(t *testing.T) {
	requireEnv(t)
	g := NewWithT(t)
	east := env.east
	backupJob(t, east, "rjsnap", "0 0 1 1 *", 5, 2)
	data := randomBytes(t, 2*testBlockSize)
	sourceVolume(t, east, "rjsnap-a", "rjsnap", data)
	sourceVolume(t, east, "rjsnap-b", "rjsnap", data)
	jobSnapshots := func(volume string) []longhorn.Snapshot {
		var list longhorn.SnapshotList
		g.Expect(east.c.List(t.Context(), &list, client.InNamespace(longhorn.DefaultNamespace),
			client.MatchingLabels{longhorn.LabelSnapshotVolume: volume})).To(Succeed())
		var out []longhorn.Snapshot
		for _, s := range list.Items {
			if s.DeletionTimestamp == nil {
				out = append(out, s)
			}
		}
		return out
	}
	for run := range 3 {
		names, err := east.sim.RunRecurringJob(t.Context(), "rjsnap")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(names).To(HaveLen(2), "run %d", run)
		for _, n := range names {
			var b longhorn.Backup
			g.Expect(east.c.Get(t.Context(), key(n), &b)).To(Succeed())
			g.Expect(b.Status.State).To(Equal(longhorn.BackupStateCompleted))
			vol := b.Labels[longhorn.LabelBackupVolume]
			g.Eventually(func() []longhorn.Snapshot { return jobSnapshots(vol) }).
				WithTimeout(timeout).WithPolling(poll).Should(HaveLen(1), "run %d, volume %s", run, vol)
			snap := jobSnapshots(vol)[0]
			g.Expect(snap.Name).To(Equal(b.Spec.SnapshotName))
			g.Expect(snap.Status.Labels).To(HaveKeyWithValue(recurringJobLabel, "rjsnap"))
			sb, err := env.store.Backup(vol, n)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(sb.SnapshotCreatedAt).To(Equal(snap.Status.CreationTime))
		}
	}
	g.Expect(east.sim.WriteVolume(t.Context(), "rjsnap-a", 0, []byte("later"))).To(Succeed())
	got, err := east.sim.data.readSnapshot(jobSnapshots("rjsnap-a")[0].Name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(bytes.Equal(got, data)).To(BeTrue(), "a snapshot keeps the data it captured")

	t.Run("deleting the volume deletes its snapshots", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(east.c.Delete(t.Context(), &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "rjsnap-b", Namespace: longhorn.DefaultNamespace}})).To(Succeed())
		g.Eventually(func(g Gomega) {
			var list longhorn.SnapshotList
			g.Expect(east.c.List(t.Context(), &list, client.InNamespace(longhorn.DefaultNamespace),
				client.MatchingLabels{longhorn.LabelSnapshotVolume: "rjsnap-b"})).To(Succeed())
			g.Expect(list.Items).To(BeEmpty())
		}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	})
}
