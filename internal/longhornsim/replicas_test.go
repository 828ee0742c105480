package longhornsim

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/drplan/drplan/internal/longhorn"
)

func TestRobustness(t *testing.T) {
	tests := []struct {
		wanted, failed int
		attached       bool
		want           longhorn.VolumeRobustness
		rw             int
	}{
		{3, 0, true, longhorn.VolumeRobustnessHealthy, 3},
		{3, 1, true, longhorn.VolumeRobustnessDegraded, 2},
		{3, 2, true, longhorn.VolumeRobustnessDegraded, 1},
		{3, 3, true, longhorn.VolumeRobustnessFaulted, 0},
		{3, 1, false, longhorn.VolumeRobustnessUnknown, 2},
		{3, 5, false, longhorn.VolumeRobustnessFaulted, 0},
		{0, 0, true, longhorn.VolumeRobustnessHealthy, 1},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		g.Expect(robustness(tt.wanted, tt.failed, tt.attached)).To(Equal(tt.want), "%+v", tt)
		rw := 0
		for _, mode := range replicaModes("v", tt.wanted, tt.failed) {
			if mode == longhorn.ReplicaModeRW {
				rw++
			}
		}
		g.Expect(rw).To(Equal(tt.rw), "%+v", tt)
	}
}

func TestSameStore(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"nfs://longhornsim:/tmp/s", "nfs://longhornsim:/tmp/s", true},
		{"nfs://longhornsim:/tmp/s?nfsOptions=soft", "nfs://longhornsim:/tmp/s", true},
		{"nfs://longhornsim:/tmp/other", "nfs://longhornsim:/tmp/s", false},
		{"s3://bucket@us-east-1/", "nfs://longhornsim:/tmp/s", false},
		{"", "nfs://longhornsim:/tmp/s", false},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(sameStore(tt.a, tt.b)).To(Equal(tt.want), "%s vs %s", tt.a, tt.b)
	}
}
