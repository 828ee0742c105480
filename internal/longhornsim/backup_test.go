package longhornsim

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/longhorn"
)

func TestNewBackupName(t *testing.T) {
	g := NewWithT(t)
	seen := map[string]bool{}
	for range 100 {
		n, err := newBackupName()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(longhorn.IsBackupName(n)).To(BeTrue(), n)
		g.Expect(seen).NotTo(HaveKey(n))
		seen[n] = true
	}
}

func TestDeletesCustomResourceOnly(t *testing.T) {
	g := NewWithT(t)
	g.Expect(deletesCustomResourceOnly(map[string]string{"longhorn.io/delete-custom-resource-only": "true"})).To(BeTrue())
	g.Expect(deletesCustomResourceOnly(map[string]string{"longhorn.io/delete-custom-resource-only": "false"})).To(BeFalse())
	g.Expect(deletesCustomResourceOnly(nil)).To(BeFalse())
}
