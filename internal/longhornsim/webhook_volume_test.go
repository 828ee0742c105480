package longhornsim

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drplan/drplan/internal/longhorn"
)

// fakeLookup answers the webhooks from maps, with the datastore's errors.
type fakeLookup struct {
	backups  map[string]*longhorn.Backup
	bvs      []longhorn.BackupVolume
	targets  map[string]*longhorn.BackupTarget
	standbys []string

	volumes   map[string]*longhorn.Volume
	snapshots map[string]*longhorn.Snapshot
}

var _ lookup = (*fakeLookup)(nil)

func (f *fakeLookup) backup(_ context.Context, name string) (*longhorn.Backup, error) {
	if b, ok := f.backups[name]; ok {
		return b, nil
	}
	return nil, apierrors.NewNotFound(groupResource("backup"), name)
}

func (f *fakeLookup) backupVolume(_ context.Context, target, volume string) (*longhorn.BackupVolume, error) {
	if target == "" || volume == "" {
		return nil, fmt.Errorf("backup target name and volume name cannot be empty")
	}
	bv, err := longhorn.FindBackupVolume(f.bvs, target, volume)
	if err != nil {
		return nil, err
	}
	if bv == nil {
		return nil, apierrors.NewNotFound(longhornBackupVolumesResource, "")
	}
	return bv, nil
}

func (f *fakeLookup) backupTarget(_ context.Context, name string) (*longhorn.BackupTarget, error) {
	if bt, ok := f.targets[name]; ok {
		return bt, nil
	}
	return nil, apierrors.NewNotFound(groupResource("backuptarget"), name)
}

func (f *fakeLookup) standbyVolumes(context.Context) ([]string, error) { return f.standbys, nil }

func (f *fakeLookup) volume(_ context.Context, name string) (*longhorn.Volume, error) {
	if v, ok := f.volumes[name]; ok {
		return v, nil
	}
	return nil, apierrors.NewNotFound(groupResource("volume"), name)
}

func (f *fakeLookup) snapshot(_ context.Context, name string) (*longhorn.Snapshot, error) {
	if snap, ok := f.snapshots[name]; ok {
		return snap, nil
	}
	return nil, apierrors.NewNotFound(groupResource("snapshot"), name)
}

const backupURL = "nfs://store:/backups?backup=backup-00000000000000aa&volume=pg-data"

func newFakeLookup() *fakeLookup {
	return &fakeLookup{
		backups: map[string]*longhorn.Backup{"backup-00000000000000aa": {
			ObjectMeta: metav1.ObjectMeta{Name: "backup-00000000000000aa"},
			Status: longhorn.BackupStatus{BackupTargetName: "default", VolumeSize: "5368709121",
				Labels: map[string]string{longhorn.LabelVolumeAccessMode: "rwx"}},
		}},
		bvs: []longhorn.BackupVolume{{
			ObjectMeta: metav1.ObjectMeta{Name: "pg-data-1234abcd", Labels: longhorn.BackupVolumeLabels("default", "pg-data")},
			Spec:       longhorn.BackupVolumeSpec{BackupTargetName: "default", VolumeName: "pg-data"},
		}},
		targets: map[string]*longhorn.BackupTarget{"default": {ObjectMeta: metav1.ObjectMeta{Name: "default"}}},
	}
}

func standby(mut func(*longhorn.Volume)) *longhorn.Volume {
	v := &longhorn.Volume{
		ObjectMeta: metav1.ObjectMeta{Name: "pg-data", Labels: map[string]string{"team": "db"}},
		Spec:       longhorn.VolumeSpec{Size: 1 << 30, FromBackup: backupURL, Standby: true, NumberOfReplicas: 2},
	}
	if mut != nil {
		mut(v)
	}
	return v
}

// The mutating webhook on create (REFERENCE §1.5): the patches are golden files; denials carry
// Longhorn's messages.
func TestMutateVolumeCreate(t *testing.T) {
	tests := []struct {
		name   string
		lookup func(*fakeLookup)
		volume *longhorn.Volume
		denied string
	}{
		{name: "standby from backup", volume: standby(nil)},
		{name: "standby with access mode", volume: standby(func(v *longhorn.Volume) { v.Spec.AccessMode = longhorn.AccessModeReadWriteOnce })},
		{name: "plain volume", volume: &longhorn.Volume{ObjectMeta: metav1.ObjectMeta{Name: "plain"},
			Spec: longhorn.VolumeSpec{Size: 1000, Frontend: longhorn.VolumeFrontendBlockDev}}},
		{
			name: "backup missing, no access mode", lookup: func(f *fakeLookup) { delete(f.backups, "backup-00000000000000aa") },
			volume: standby(nil),
			denied: `failed to get backup backup-00000000000000aa: backup.longhorn.io "backup-00000000000000aa" not found`,
		},
		{
			name: "backup missing, access mode set", lookup: func(f *fakeLookup) { delete(f.backups, "backup-00000000000000aa") },
			volume: standby(func(v *longhorn.Volume) { v.Spec.AccessMode = longhorn.AccessModeReadWriteOnce }),
			denied: `cannot get backup backup-00000000000000aa: backup.longhorn.io "backup-00000000000000aa" not found`,
		},
		{
			name: "backup volume missing", lookup: func(f *fakeLookup) { f.bvs = nil },
			volume: standby(nil),
			denied: `cannot get backup volume for backup target default and volume pg-data: backupVolumes "" not found`,
		},
		{
			name: "backup not synced yet", lookup: func(f *fakeLookup) { f.backups["backup-00000000000000aa"].Status = longhorn.BackupStatus{} },
			volume: standby(nil),
			denied: `cannot get backup volume for backup target  and volume pg-data: backup target name and volume name cannot be empty`,
		},
		{
			name: "two backup volumes", lookup: func(f *fakeLookup) { f.bvs = append(f.bvs, f.bvs[0]) },
			volume: standby(nil),
			denied: `cannot get backup volume for backup target default and volume pg-data: `,
		},
		{
			name:   "bad backup url",
			volume: standby(func(v *longhorn.Volume) { v.Spec.FromBackup = "nfs://store:/backups?backup=backup-1" }),
			denied: `failed to decode backup url nfs://store:/backups?backup=backup-1: parse backup url: invalid volume name ""`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			lk := newFakeLookup()
			if tt.lookup != nil {
				tt.lookup(lk)
			}
			ops, aerr := mutateVolumeCreate(t.Context(), lk, tt.volume)
			if tt.denied != "" {
				g.Expect(aerr).NotTo(BeNil())
				g.Expect(aerr.message).To(HavePrefix(tt.denied))
				g.Expect(aerr.status().Code).To(Equal(int32(422)))
				return
			}
			g.Expect(aerr).To(BeNil())
			raw, err := json.MarshalIndent(ops, "", "  ")
			g.Expect(err).NotTo(HaveOccurred())
			golden(t, "mutate-create-"+sanitize(tt.name)+".json", append(raw, '\n'))
		})
	}
}

// On update the common part still reads the Backup of a standby volume (volumeMutator.mutate,
// REFERENCE §10.2, §10.3): every update of a standby whose fromBackup Backup CR is gone is
// denied, a deleting one's (finalizer removal) included; only the simulator's own records pass.
func TestMutateVolumeUpdate(t *testing.T) {
	pruned := func(f *fakeLookup) { delete(f.backups, "backup-00000000000000aa") }
	denied := `failed to inspect the backup config ` + backupURL + `: backup.longhorn.io "backup-00000000000000aa" not found`
	tests := []struct {
		name   string
		lookup func(*fakeLookup)
		old, v *longhorn.Volume
		denied string
	}{
		{name: "standby, backup present", old: standby(nil), v: standby(nil)},
		{name: "standby, backup pruned", lookup: pruned, old: standby(nil), v: standby(nil), denied: denied},
		{
			name: "label change, backup pruned", lookup: pruned,
			old: standby(nil), v: standby(func(v *longhorn.Volume) { v.Labels["team"] = "other" }),
			denied: denied,
		},
		{
			name: "activation, backup pruned", lookup: pruned,
			old: standby(nil), v: standby(func(v *longhorn.Volume) { v.Spec.Standby = false; v.Spec.Frontend = "blockdev" }),
		},
		{
			// Longhorn has no exemption for a deleting volume: the simulator used to let it through.
			name: "standby being deleted, backup pruned", lookup: pruned,
			old:    standby(func(v *longhorn.Volume) { v.DeletionTimestamp = &metav1.Time{}; v.Finalizers = []string{finalizer} }),
			v:      standby(func(v *longhorn.Volume) { v.DeletionTimestamp = &metav1.Time{} }),
			denied: denied,
		},
		{
			name: "simulator records only, backup pruned", lookup: pruned,
			old: standby(nil), v: standby(func(v *longhorn.Volume) { v.Annotations = map[string]string{AnnotationFailedReplicas: "3"} }),
		},
		{
			name: "records and a label, backup pruned", lookup: pruned,
			old: standby(nil), v: standby(func(v *longhorn.Volume) {
				v.Annotations = map[string]string{AnnotationFailedReplicas: "3"}
				v.Labels["team"] = "other"
			}),
			denied: denied,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			lk := newFakeLookup()
			if tt.lookup != nil {
				tt.lookup(lk)
			}
			_, aerr := mutateVolumeUpdate(t.Context(), lk, tt.old, tt.v)
			if tt.denied == "" {
				g.Expect(aerr).To(BeNil())
				return
			}
			g.Expect(aerr).NotTo(BeNil())
			g.Expect(aerr.message).To(Equal(tt.denied))
		})
	}
}

// The validating webhook (REFERENCE §1.5, §3.3, §6).
func TestValidate(t *testing.T) {
	mutated := func(mut func(*longhorn.Volume)) *longhorn.Volume {
		v := standby(func(v *longhorn.Volume) {
			v.Spec.AccessMode, v.Spec.Image, v.Spec.BackupTargetName = "rwo", defaultEngineImage, "default"
		})
		if mut != nil {
			mut(v)
		}
		return v
	}
	bt := func(url string) *longhorn.BackupTarget {
		return &longhorn.BackupTarget{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: longhorn.BackupTargetSpec{BackupTargetURL: url}}
	}
	tests := []struct {
		name     string
		standbys []string
		check    func(lookup) *admitError
		denied   string
	}{
		{name: "standby without frontend", check: func(lk lookup) *admitError { return validateVolumeCreate(t.Context(), lk, mutated(nil)) }},
		{
			name: "not standby without frontend",
			check: func(lk lookup) *admitError {
				return validateVolumeCreate(t.Context(), lk, mutated(func(v *longhorn.Volume) { v.Spec.Standby = false }))
			},
			denied: "invalid volume frontend specified:  for data engine  ",
		},
		{
			name: "no replicas",
			check: func(lk lookup) *admitError {
				return validateVolumeCreate(t.Context(), lk, mutated(func(v *longhorn.Volume) { v.Spec.NumberOfReplicas = 0 }))
			},
			denied: "replica count value 0 must between 1 to 20",
		},
		{
			name: "unknown backup target",
			check: func(lk lookup) *admitError {
				return validateVolumeCreate(t.Context(), lk, mutated(func(v *longhorn.Volume) { v.Spec.BackupTargetName = "other" }))
			},
			denied: `failed to get backup target other: backuptarget.longhorn.io "other" not found`,
		},
		{
			name: "empty backup target on update",
			check: func(lk lookup) *admitError {
				return validateVolumeUpdate(t.Context(), lk, mutated(nil), mutated(func(v *longhorn.Volume) { v.Spec.BackupTargetName = "" }))
			},
			denied: "backup target name cannot be empty when creating a volume or updating from an existing backup target",
		},
		{
			name: "shrink",
			check: func(lk lookup) *admitError {
				return validateVolumeUpdate(t.Context(), lk, mutated(nil), mutated(func(v *longhorn.Volume) { v.Spec.Size = 1 }))
			},
			denied: "shrinking volume pg-data size from 1073741824 to 1 is not supported",
		},
		{
			name: "backup target URL change with standby volumes", standbys: []string{"b", "a"},
			check: func(lk lookup) *admitError {
				return validateBackupTargetUpdate(t.Context(), lk, bt("nfs://a:/x"), bt("nfs://b:/x"))
			},
			denied: "cannot modify BackupTarget since there are existing standby volumes: map[a:{} b:{}]",
		},
		{
			name: "backup target sync request with standby volumes", standbys: []string{"a"},
			check: func(lk lookup) *admitError {
				n := bt("nfs://a:/x")
				n.Spec.SyncRequestedAt = &metav1.Time{}
				return validateBackupTargetUpdate(t.Context(), lk, bt("nfs://a:/x"), n)
			},
		},
		{
			name:   "delete default backup target",
			check:  func(lk lookup) *admitError { return validateBackupTargetDelete(t.Context(), lk, bt("")) },
			denied: "deleting default backup target is not allowed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			lk := newFakeLookup()
			lk.standbys = tt.standbys
			aerr := tt.check(lk)
			if tt.denied == "" {
				g.Expect(aerr).To(BeNil())
				return
			}
			g.Expect(aerr).NotTo(BeNil())
			g.Expect(aerr.message).To(Equal(tt.denied))
		})
	}
}

func sanitize(s string) string {
	out := []rune{}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			out = append(out, r)
		default:
			out = append(out, '-')
		}
	}
	return string(out)
}
