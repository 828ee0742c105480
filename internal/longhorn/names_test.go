package longhorn_test

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/longhorn"
)

func TestBackupVolumeName(t *testing.T) {
	// Expected values are sha256("<volume>-<target>")[:8], computed independently with
	// `printf %s 'pg-data-default' | sha256sum | cut -c1-8`.
	cases := []struct{ volume, target, want string }{
		{volume: "pg-data", target: "default", want: "pg-data-4674ee58"},
		{volume: "pvc-33509786-92d7-427c-9b5a-b6d61d56b063", target: "default", want: "pvc-33509786-92d7-427c-9b5a-b6d61d56b063-11220599"},
		{volume: "pg-data", target: "s3", want: "pg-data-972fd97a"},
	}
	for _, tc := range cases {
		t.Run(tc.volume+"/"+tc.target, func(t *testing.T) {
			NewWithT(t).Expect(longhorn.BackupVolumeName(tc.volume, tc.target)).To(Equal(tc.want))
		})
	}
	g := NewWithT(t)
	g.Expect(longhorn.BackupVolumeName("pg-data", "default")).NotTo(Equal(longhorn.BackupVolumeName("pg-data", "s3")))
}

func TestEngineName(t *testing.T) {
	NewWithT(t).Expect(longhorn.EngineName("pg-data")).To(Equal("pg-data-e-0"))
}

func TestIsBackupName(t *testing.T) {
	g := NewWithT(t)
	for _, bad := range []string{"", "backup-", "backup-b69a1249e97f4a2", "backup-B69A1249E97F4A27", "snap-b69a1249e97f4a27", "backup-b69a1249e97f4a27x"} {
		g.Expect(longhorn.IsBackupName(bad)).To(BeFalse(), bad)
	}
	g.Expect(longhorn.IsBackupName(fixtureBackup)).To(BeTrue())
}
