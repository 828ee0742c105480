package backupstore

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/golden"
)

// putBackup uploads data as backup name of volume, as Sim.upload does.
func putBackup(t *testing.T, s *Store, volume, name string, data []byte, bs int64, at string) *Backup {
	t.Helper()
	b := &Backup{Name: name, VolumeName: volume, SnapshotName: "snap-" + name, SnapshotCreatedAt: at, CreatedTime: at,
		Labels: map[string]string{"RecurringJob": "job"}, CompressionMethod: "none", DataSize: int64(len(data))}
	for _, blk := range SplitBlocks(data, bs) {
		sum, fresh, err := s.PutBlock(volume, blk.Data)
		if err != nil {
			t.Fatal(err)
		}
		b.Blocks = append(b.Blocks, BlockMapping{Offset: blk.Offset, BlockChecksum: sum})
		b.Size += int64(len(blk.Data))
		if fresh {
			b.NewlyUploadedDataSize += int64(len(blk.Data))
		}
	}
	if err := s.CommitBackup(Volume{Name: volume, Size: 16 << 20, CreatedTime: at, CompressionMethod: "none", DataEngine: "v1"}, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// tree lists the store's files with the JSON of its config files.
func tree(t *testing.T, s *Store) []byte {
	t.Helper()
	var out strings.Builder
	err := filepath.WalkDir(s.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(s.Dir(), path)
		out.WriteString(rel + "\n")
		if strings.HasSuffix(rel, storeCfgSuffix) {
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			pretty, _ := json.MarshalIndent(v, "    ", "  ")
			out.WriteString("    " + string(pretty) + "\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return []byte(out.String())
}

// The store is laid out as longhorn's backupstore lays it out (REFERENCE §3.4): volume
// directories under two levels of the name's checksum, backups/backup_<name>.cfg, and
// content-addressed blocks; a second backup uploads only its changed block; deleting a backup
// drops the blocks no other backup uses and moves volume.cfg's last backup.
func TestStoreLayout(t *testing.T) {
	g := NewWithT(t)
	s, err := New(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	const bs = 8
	first := []byte("aaaaaaaabbbbbbbbcccc")
	second := []byte("aaaaaaaaBBBBBBBBcccc")
	b1 := putBackup(t, s, "vol-a", "backup-0000000000000001", first, bs, "2026-01-02T03:04:05Z")
	g.Expect(b1.NewlyUploadedDataSize).To(Equal(int64(20)))
	b2 := putBackup(t, s, "vol-a", "backup-0000000000000002", second, bs, "2026-01-02T03:05:05Z")
	g.Expect(b2.NewlyUploadedDataSize).To(Equal(int64(8)), "only the changed block is new")

	golden.Assert(t, filepath.Join("testdata", "store_layout.golden"), tree(t, s))

	names, err := s.VolumeNames()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names).To(Equal([]string{"vol-a"}))
	backups, err := s.BackupNames("vol-a")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(backups).To(Equal([]string{b1.Name, b2.Name}))
	for _, tt := range []struct {
		backup string
		data   []byte
	}{{b1.Name, first}, {b2.Name, second}} {
		got, err := s.ReadBackupData("vol-a", tt.backup)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(tt.data))
	}

	g.Expect(s.DeleteBackup("vol-a", b2.Name)).To(Succeed())
	v, _, err := s.Volume("vol-a")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v.LastBackupName).To(Equal(b1.Name))
	g.Expect(v.BlockCount).To(Equal(int64(3)), "the block only the deleted backup used is gone")
	got, err := s.ReadBackupData("vol-a", b1.Name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal(first))

	g.Expect(s.DeleteVolume("vol-a")).To(Succeed())
	names, err = s.VolumeNames()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names).To(BeEmpty())
}

func TestStoreUnreachable(t *testing.T) {
	s, err := New(t.TempDir())
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	putBackup(t, s, "vol", "backup-0000000000000001", []byte("data"), 4096, "2026-01-02T03:04:05Z")
	s.SetReachable(false)
	tests := []struct {
		name string
		op   func() error
	}{
		{"list volumes", func() error { _, err := s.VolumeNames(); return err }},
		{"read volume", func() error { _, _, err := s.Volume("vol"); return err }},
		{"list backups", func() error { _, err := s.BackupNames("vol"); return err }},
		{"read backup", func() error { _, err := s.Backup("vol", "backup-0000000000000001"); return err }},
		{"put block", func() error { _, _, err := s.PutBlock("vol", []byte("x")); return err }},
		{"delete backup", func() error { return s.DeleteBackup("vol", "backup-0000000000000001") }},
		{"delete volume", func() error { return s.DeleteVolume("vol") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(errors.Is(tt.op(), ErrUnreachable)).To(BeTrue())
		})
	}
	s.SetReachable(true)
	got, err := s.ReadBackupData("vol", "backup-0000000000000001")
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	NewWithT(t).Expect(got).To(Equal([]byte("data")))
}

// A block whose content does not match its name is refused.
func TestStoreBlockChecksum(t *testing.T) {
	g := NewWithT(t)
	s, err := New(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	sum, _, err := s.PutBlock("vol", []byte("good"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(filepath.Join(s.Dir(), blockPath("vol", sum)), []byte("evil"), 0o644)).To(Succeed())
	_, err = s.Block("vol", sum)
	g.Expect(err).To(MatchError(ContainSubstring("checksum mismatch")))
	_, err = s.Block("vol", Checksum([]byte("absent")))
	g.Expect(errors.Is(err, ErrNotFound)).To(BeTrue())
}
