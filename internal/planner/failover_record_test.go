package planner

import (
	"testing"

	. "github.com/onsi/gomega"

	longhorn "github.com/drplan/drplan/internal/longhorn"
)

func TestFinalBackupName(t *testing.T) {
	cases := []struct {
		name                      string
		plan, volume, revision    string
		samePlan, sameVol, sameRv string
		wantSame                  bool
	}{
		{"same inputs, same name", "payments", "pg-data", rev, "payments", "pg-data", rev, true},
		{"another volume", "payments", "pg-data", rev, "payments", "pg-wal", rev, false},
		{"another revision", "payments", "pg-data", rev, "payments", "pg-data", "ffff", false},
		{"another plan", "payments", "pg-data", rev, "billing", "pg-data", rev, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			a, b := FinalBackupName(tc.plan, tc.volume, tc.revision), FinalBackupName(tc.samePlan, tc.sameVol, tc.sameRv)
			g.Expect(longhorn.IsBackupName(a)).To(BeTrue(), "Longhorn's form: %s", a)
			g.Expect(a == b).To(Equal(tc.wantSame))
		})
	}
}
