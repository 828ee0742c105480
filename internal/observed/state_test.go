package observed_test

import (
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	longhorn "github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/observed"
)

const volume = "pg-data"

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "longhorn-system"}
}

func backupOf(name, volume string, state longhorn.BackupState, snapshot, uploaded time.Duration) longhorn.Backup {
	b := longhorn.Backup{ObjectMeta: meta(name)}
	b.Labels = longhorn.BackupVolumeLabels(longhorn.DefaultBackupTargetName, volume)
	b.Status.State = state
	b.Status.SnapshotCreatedAt = longhorn.NewTimestamp(t0.Add(snapshot))
	b.Status.BackupCreatedAt = longhorn.NewTimestamp(t0.Add(uploaded))
	return b
}

func TestNewestCompletedBackup(t *testing.T) {
	deleting := backupOf("backup-d", volume, longhorn.BackupStateCompleted, 3*time.Hour, 3*time.Hour)
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	byStatus := backupOf("backup-s", "", longhorn.BackupStateCompleted, 4*time.Hour, 4*time.Hour)
	byStatus.Labels = nil
	byStatus.Status.VolumeName = "other"
	badBlockSize := backupOf("backup-x", volume, longhorn.BackupStateCompleted, 6*time.Hour, 6*time.Hour)
	badBlockSize.Spec.BackupBlockSize = longhorn.BackupBlockSizeInvalid
	otherTarget := backupOf("backup-t", volume, longhorn.BackupStateCompleted, 5*time.Hour, 5*time.Hour)
	otherTarget.Labels = longhorn.BackupVolumeLabels("other-target", volume)
	cases := []struct {
		name    string
		backups []longhorn.Backup
		volume  string
		want    string
	}{
		{name: "none", volume: volume, want: ""},
		{name: "newest snapshot wins", volume: volume, want: "backup-b", backups: []longhorn.Backup{
			backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, time.Hour),
			backupOf("backup-b", volume, longhorn.BackupStateCompleted, time.Minute, time.Minute),
		}},
		{name: "in progress and error skipped", volume: volume, want: "backup-a", backups: []longhorn.Backup{
			backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, 0),
			backupOf("backup-b", volume, longhorn.BackupStateInProgress, time.Hour, 0),
			backupOf("backup-c", volume, longhorn.BackupStateError, time.Hour, 0),
			deleting,
		}},
		{name: "listed while written (empty state) skipped", volume: volume, want: "backup-a", backups: []longhorn.Backup{
			backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, 0),
			backupOf("backup-w", volume, longhorn.BackupStateNew, 2*time.Hour, 0),
		}},
		{name: "block size Longhorn could not read skipped", volume: volume, want: "backup-a", backups: []longhorn.Backup{
			backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, 0), badBlockSize,
		}},
		{name: "only incomplete ones: none", volume: volume, want: "", backups: []longhorn.Backup{
			backupOf("backup-b", volume, longhorn.BackupStateInProgress, time.Hour, 0), deleting,
		}},
		{name: "other volumes skipped", volume: volume, want: "backup-a", backups: []longhorn.Backup{
			backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, 0),
			backupOf("backup-b", "other", longhorn.BackupStateCompleted, time.Hour, 0),
		}},
		{name: "volume from status when unlabelled", volume: "other", want: "backup-s", backups: []longhorn.Backup{
			backupOf("backup-b", "other", longhorn.BackupStateCompleted, time.Hour, 0), byStatus,
		}},
		{name: "any backup target", volume: volume, want: "backup-t", backups: []longhorn.Backup{
			backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, 0), otherTarget,
		}},
		{name: "same snapshot time: later upload", volume: volume, want: "backup-a", backups: []longhorn.Backup{
			backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, time.Hour),
			backupOf("backup-b", volume, longhorn.BackupStateCompleted, 0, time.Minute),
		}},
		{name: "same times: greater name", volume: volume, want: "backup-b", backups: []longhorn.Backup{
			backupOf("backup-b", volume, longhorn.BackupStateCompleted, 0, 0),
			backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, 0),
		}},
		{name: "same times: greater name, either order", volume: volume, want: "backup-b", backups: []longhorn.Backup{
			backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, 0),
			backupOf("backup-b", volume, longhorn.BackupStateCompleted, 0, 0),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s := &observed.State{Backups: tc.backups}
			got := s.NewestCompletedBackup(tc.volume)
			g.Expect(got).To(BeIdenticalTo(longhorn.NewestCompletedBackup(tc.backups, tc.volume)), "as the scan finds it")
			if tc.want == "" {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got).NotTo(BeNil())
			g.Expect(got.Name).To(Equal(tc.want))
			g.Expect(s.Backup(tc.want)).To(BeIdenticalTo(got))
		})
	}
}

func TestBackup(t *testing.T) {
	unnamed := backupOf("", volume, longhorn.BackupStateCompleted, 0, 0)
	s := &observed.State{Backups: []longhorn.Backup{
		unnamed,
		backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, 0),
		backupOf("backup-a", "second", longhorn.BackupStateCompleted, 0, 0),
	}}
	g := NewWithT(t)
	g.Expect(s.Backup("")).To(BeNil(), "the empty name finds nothing")
	g.Expect(s.Backup("backup-z")).To(BeNil())
	g.Expect(s.Backup("backup-a")).To(BeIdenticalTo(&s.Backups[1]), "the first of a name")
}

func TestBackupVolumeOf(t *testing.T) {
	bv := func(name, target, volume string) longhorn.BackupVolume {
		b := longhorn.BackupVolume{ObjectMeta: meta(name)}
		b.Labels = longhorn.BackupVolumeLabels(target, volume)
		return b
	}
	cases := []struct {
		name    string
		bvs     []longhorn.BackupVolume
		want    string
		wantErr string
	}{
		{name: "none"},
		{name: "by labels, not name", want: "random-name", bvs: []longhorn.BackupVolume{
			bv("pg-data-x", "other", volume), bv("random-name", "default", volume), bv("y", "default", "pg"),
		}},
		{name: "named like it but unlabelled", bvs: []longhorn.BackupVolume{
			{ObjectMeta: meta(longhorn.BackupVolumeName(volume, "default"))},
		}},
		{name: "two matches is an error, as in Longhorn", wantErr: "found more than one (a, b)", bvs: []longhorn.BackupVolume{
			bv("a", "default", volume), bv("z", "other", volume), bv("b", "default", volume), bv("c", "default", volume),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			s := &observed.State{BackupVolumes: tc.bvs}
			got, err := s.BackupVolumeOf("default", volume)
			scanned, scanErr := longhorn.FindBackupVolume(tc.bvs, "default", volume)
			g.Expect(got).To(BeIdenticalTo(scanned), "as the scan finds it")
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(scanErr.Error()))
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			if tc.want == "" {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got.Name).To(Equal(tc.want))
			g.Expect(s.BackupVolume(tc.want)).To(BeIdenticalTo(got))
		})
	}
}

func TestActiveEngine(t *testing.T) {
	eng := func(name, volume string, active bool, labelled bool) longhorn.Engine {
		e := longhorn.Engine{ObjectMeta: meta(name), Spec: longhorn.EngineSpec{Active: active}}
		if labelled {
			e.Labels = map[string]string{longhorn.LabelLonghornVolume: volume}
		} else {
			e.Spec.VolumeName = volume
		}
		return e
	}
	both := eng("v-e-2", "v", false, true)
	both.Spec.VolumeName = "v"
	mixed := eng("x-e-0", "x", true, true)
	mixed.Spec.VolumeName = "v"
	cases := []struct {
		name    string
		engines []longhorn.Engine
		want    string
	}{
		{name: "none"},
		{name: "only one, by label", want: "v-e-0", engines: []longhorn.Engine{eng("v-e-0", "v", false, true), eng("w-e-0", "w", true, true)}},
		{name: "only one, by spec.volumeName", want: "v-e-0", engines: []longhorn.Engine{eng("v-e-0", "v", false, false)}},
		{name: "by label and spec.volumeName: once", want: "v-e-2", engines: []longhorn.Engine{both}},
		{name: "by spec.volumeName when labelled for another", want: "x-e-0", engines: []longhorn.Engine{eng("v-e-0", "v", false, true), mixed}},
		{name: "two: the active one", want: "v-e-1", engines: []longhorn.Engine{eng("v-e-0", "v", false, true), eng("v-e-1", "v", true, true)}},
		{name: "two: the active one first", want: "v-e-0", engines: []longhorn.Engine{eng("v-e-0", "v", true, true), eng("v-e-1", "v", false, true)}},
		{name: "none active: the first", want: "v-e-1", engines: []longhorn.Engine{eng("v-e-1", "v", false, true), eng("v-e-0", "v", false, false)}},
		{name: "two active: the first", want: "v-e-1", engines: []longhorn.Engine{eng("v-e-0", "v", false, true), eng("v-e-1", "v", true, true), eng("v-e-2", "v", true, false)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := (&observed.State{Engines: tc.engines}).ActiveEngine("v")
			if tc.want == "" {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got).NotTo(BeNil())
			g.Expect(got.Name).To(Equal(tc.want))
		})
	}
}

// TestByName checks every lookup by name: found, missing, the first of two of one name, and a
// pointer into the State's list.
func TestByName(t *testing.T) {
	s := &observed.State{
		Volumes:       []longhorn.Volume{{ObjectMeta: meta("a")}, {ObjectMeta: meta("b")}, {ObjectMeta: meta("b")}},
		BackupTargets: []longhorn.BackupTarget{{ObjectMeta: meta("a")}, {ObjectMeta: meta("b")}, {ObjectMeta: meta("b")}},
		RecurringJobs: []longhorn.RecurringJob{{ObjectMeta: meta("a")}, {ObjectMeta: meta("b")}, {ObjectMeta: meta("b")}},
		Settings:      []longhorn.Setting{{ObjectMeta: meta("a")}, {ObjectMeta: meta("b")}, {ObjectMeta: meta("b")}},
		Snapshots:     []longhorn.Snapshot{{ObjectMeta: meta("a")}, {ObjectMeta: meta("b")}, {ObjectMeta: meta("b")}},
		BackupVolumes: []longhorn.BackupVolume{{ObjectMeta: meta("a")}, {ObjectMeta: meta("b")}, {ObjectMeta: meta("b")}},
		Backups:       []longhorn.Backup{{ObjectMeta: meta("a")}, {ObjectMeta: meta("b")}, {ObjectMeta: meta("b")}},
		ConfigMaps:    []corev1.ConfigMap{{ObjectMeta: meta("a")}, {ObjectMeta: meta("b")}, {ObjectMeta: meta("b")}},
		PersistentVolumes: []corev1.PersistentVolume{
			{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}},
		},
	}
	cases := []struct {
		kind   string
		lookup func(string) any
		first  any
	}{
		{"Volume", func(n string) any { return s.Volume(n) }, &s.Volumes[1]},
		{"BackupTarget", func(n string) any { return s.BackupTarget(n) }, &s.BackupTargets[1]},
		{"RecurringJob", func(n string) any { return s.RecurringJob(n) }, &s.RecurringJobs[1]},
		{"Setting", func(n string) any { return s.Setting(n) }, &s.Settings[1]},
		{"Snapshot", func(n string) any { return s.Snapshot(n) }, &s.Snapshots[1]},
		{"BackupVolume", func(n string) any { return s.BackupVolume(n) }, &s.BackupVolumes[1]},
		{"Backup", func(n string) any { return s.Backup(n) }, &s.Backups[1]},
		{"ConfigMap", func(n string) any { return s.ConfigMap(n) }, &s.ConfigMaps[1]},
		{"PersistentVolume", func(n string) any { return s.PersistentVolume(n) }, &s.PersistentVolumes[1]},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tc.lookup("b")).To(BeIdenticalTo(tc.first))
			g.Expect(tc.lookup("c")).To(BeNil())
		})
	}
}

// TestByNamespacedName checks the lookups of objects outside Longhorn's namespace: a name is
// found only in its namespace.
func TestByNamespacedName(t *testing.T) {
	om := func(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	s := &observed.State{
		PersistentVolumeClaims: []corev1.PersistentVolumeClaim{{ObjectMeta: om("dev", "x")}, {ObjectMeta: om("prod", "x")}, {ObjectMeta: om("prod", "x")}},
		Deployments:            []appsv1.Deployment{{ObjectMeta: om("dev", "x")}, {ObjectMeta: om("prod", "x")}, {ObjectMeta: om("prod", "x")}},
		StatefulSets:           []appsv1.StatefulSet{{ObjectMeta: om("dev", "x")}, {ObjectMeta: om("prod", "x")}, {ObjectMeta: om("prod", "x")}},
	}
	cases := []struct {
		kind   string
		lookup func(ns, name string) any
		first  any
	}{
		{"PersistentVolumeClaim", func(ns, n string) any { return s.PersistentVolumeClaim(ns, n) }, &s.PersistentVolumeClaims[1]},
		{"Deployment", func(ns, n string) any { return s.Deployment(ns, n) }, &s.Deployments[1]},
		{"StatefulSet", func(ns, n string) any { return s.StatefulSet(ns, n) }, &s.StatefulSets[1]},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tc.lookup("prod", "x")).To(BeIdenticalTo(tc.first))
			g.Expect(tc.lookup("staging", "x")).To(BeNil())
			g.Expect(tc.lookup("prod", "y")).To(BeNil())
		})
	}
}

func TestNilState(t *testing.T) {
	g := NewWithT(t)
	var s *observed.State
	g.Expect(s.Volume("a")).To(BeNil())
	g.Expect(s.ActiveEngine("a")).To(BeNil())
	g.Expect(s.NewestCompletedBackup("a")).To(BeNil())
	bv, err := s.BackupVolumeOf("default", "a")
	g.Expect(bv).To(BeNil())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(s.ConfigMap("a")).To(BeNil())
	g.Expect(s.Deployment("ns", "a")).To(BeNil())
}

// TestConcurrentLookups runs first lookups from several goroutines (under -race, a check that
// the index is built once and safely): all see the same objects.
func TestConcurrentLookups(t *testing.T) {
	s := &observed.State{Volumes: []longhorn.Volume{{ObjectMeta: meta("a")}}}
	var wg sync.WaitGroup
	got := make([]*longhorn.Volume, 8)
	for i := range got {
		wg.Go(func() { got[i] = s.Volume("a") })
	}
	wg.Wait()
	g := NewWithT(t)
	for _, v := range got {
		g.Expect(v).To(BeIdenticalTo(&s.Volumes[0]))
	}
}

// TestLookupsReadListsOnce checks that a kind's list is read once, on its first lookup, and
// every later lookup answers from the index without reading the list again: the work of a pass
// is linear in the objects, whatever the number of lookups. It also shows the contract this
// makes: a list changed after its first lookup is not seen.
func TestLookupsReadListsOnce(t *testing.T) {
	g := NewWithT(t)
	s := &observed.State{
		Volumes: []longhorn.Volume{{ObjectMeta: meta("a")}},
		Backups: []longhorn.Backup{backupOf("backup-a", volume, longhorn.BackupStateCompleted, 0, 0)},
	}
	vol, newest := s.Volume("a"), s.NewestCompletedBackup(volume)
	g.Expect(vol).NotTo(BeNil())
	g.Expect(newest).NotTo(BeNil())

	s.Volumes, s.Backups = nil, nil
	for range 3 {
		g.Expect(s.Volume("a")).To(BeIdenticalTo(vol), "answered from the index")
		g.Expect(s.NewestCompletedBackup(volume)).To(BeIdenticalTo(newest), "answered from the index")
	}
	g.Expect(s.Backup("backup-a")).To(BeNil(), "backups by name: first looked up now, from the list as it is now")
}
