package backupstore

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"
)

// A backup being uploaded (REFERENCE §10.10): deltablock.go performBackup writes its config
// first, without a creation time, so it is listed at once and InspectBackup (backupstore's
// InspectBackup) answers "backup ... is still in progress"; while it is, DeleteDeltaBlockBackup
// drops no block and, when the deleted backup was volume.cfg's last, leaves lastBackupName empty.
func TestStoreBackupInProgress(t *testing.T) {
	g := NewWithT(t)
	s, err := New(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	const bs = 8
	b1 := putBackup(t, s, "vol", "backup-0000000000000001", []byte("aaaaaaaabbbbbbbb"), bs, "2026-01-02T03:04:05Z")

	g.Expect(s.BeginBackup(Volume{Name: "vol", Size: 16 << 20}, "backup-0000000000000002")).To(Succeed())
	g.Expect(s.BackupNames("vol")).To(Equal([]string{b1.Name, "backup-0000000000000002"}))
	_, err = s.InspectBackup("vol", "backup-0000000000000002")
	g.Expect(errors.Is(err, ErrInProgress)).To(BeTrue())
	g.Expect(err).To(MatchError(ContainSubstring("backup backup-0000000000000002 is still in progress")))
	_, err = s.InspectBackup("vol", "backup-0000000000000009")
	g.Expect(errors.Is(err, ErrNotFound)).To(BeTrue())

	g.Expect(s.DeleteBackup("vol", b1.Name)).To(Succeed())
	v, _, err := s.Volume("vol")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v.LastBackupName).To(BeEmpty(), "not recomputed while a backup is in progress")
	for _, m := range b1.Blocks {
		g.Expect(s.HasBlock("vol", m.BlockChecksum)).To(BeTrue(), "no block GC while a backup is in progress")
	}

	t.Run("a new backup volume gets its volume.cfg at the start", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(s.BeginBackup(Volume{Name: "fresh", Size: 2 << 20}, "backup-0000000000000003")).To(Succeed())
		g.Expect(s.VolumeNames()).To(ContainElement("fresh"))
		v, _, err := s.Volume("fresh")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(v.LastBackupName).To(BeEmpty())
	})
}
