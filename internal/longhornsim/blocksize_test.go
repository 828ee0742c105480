package longhornsim

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// BackupVolumeController's choice of a pulled Backup's spec.backupBlockSize
// (backup_volume_controller.go, "backups to pull"): the backup's config as read at pull time; an
// unreadable or in-progress config, no labels, or a size other than 2 or 16 MiB is -1; no size
// is the legacy 2 MiB. The simulator's test block size stands for 2 MiB.
func TestPulledBackupBlockSize(t *testing.T) {
	s := &Sim{opts: Options{BlockSize: testBlockSize}}
	cfg := func(param string) *backupstore.Backup {
		b := &backupstore.Backup{Labels: map[string]string{}}
		if param != "" {
			b.Parameters = map[string]string{backupParameterBlockSize: param}
		}
		return b
	}
	tests := []struct {
		name string
		sb   *backupstore.Backup
		err  error
		want int64
	}{
		{"config in progress", nil, backupstore.ErrInProgress, -1},
		{"config unreadable", nil, errors.New("unreachable"), -1},
		{"no labels", &backupstore.Backup{}, nil, -1},
		{"legacy, no size", cfg(""), nil, 2 << 20},
		{"2 MiB", cfg("2097152"), nil, 2 << 20},
		{"16 MiB", cfg("16777216"), nil, 16 << 20},
		{"the simulator's test size", cfg("65536"), nil, 2 << 20},
		{"unsupported size", cfg("4194304"), nil, -1},
		{"garbage", cfg("x"), nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(s.pulledBackupBlockSize(tt.sb, tt.err)).To(Equal(tt.want))
		})
	}
}

// volumeValidator.Create runs types.ValidateBackupBlockSize on the block size the mutator copied
// from a standby's fromBackup Backup (REFERENCE §10.11).
func TestValidateBackupBlockSize(t *testing.T) {
	tests := []struct {
		name      string
		blockSize string
		standby   bool
		size      int64
		denied    string
	}{
		{name: "standby from a -1 backup", blockSize: "-1", standby: true, size: 1 << 30, denied: "unsupported BackupBlockSize: -1"},
		{name: "standby from a legacy backup", blockSize: "", standby: true, size: 1 << 30},
		{name: "standby from a 16 MiB backup, size not a multiple", blockSize: "16777216", standby: true, size: 18 << 20,
			denied: "volume size 18874368 must be an integer multiple of the backup block size 16777216"},
		{name: "restore volume from a -1 backup takes the default", blockSize: "-1", standby: false, size: 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			lk := newFakeLookup()
			if tt.blockSize != "" {
				lk.backups["backup-00000000000000aa"].Annotations = map[string]string{AnnotationBackupBlockSize: tt.blockSize}
			}
			v := standby(func(v *longhorn.Volume) {
				v.Spec.AccessMode, v.Spec.Image, v.Spec.BackupTargetName = "rwo", defaultEngineImage, "default"
				v.Spec.Standby, v.Spec.Size = tt.standby, tt.size
				if !tt.standby {
					v.Spec.Frontend = longhorn.VolumeFrontendBlockDev
				}
			})
			aerr := validateVolumeCreate(t.Context(), lk, v)
			if tt.denied == "" {
				g.Expect(aerr).To(BeNil())
				return
			}
			g.Expect(aerr).NotTo(BeNil())
			g.Expect(aerr.message).To(Equal(tt.denied))
			g.Expect(aerr.field).To(Equal("spec.backupBlockSize"))
		})
	}
}
