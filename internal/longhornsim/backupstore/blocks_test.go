package backupstore

import (
	"bytes"
	"testing"

	. "github.com/onsi/gomega"
)

// pattern returns n bytes of a non-zero pattern seeded by seed.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%251) + 1
		if b[i] == 0 {
			b[i] = 1
		}
	}
	return b
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestSplitBlocks(t *testing.T) {
	const bs = 4
	tests := []struct {
		name    string
		data    []byte
		offsets []int64
		lengths []int
	}{
		{"empty", nil, nil, nil},
		{"all zeros", make([]byte, 12), nil, nil},
		{"whole blocks", pattern(1, 8), []int64{0, 4}, []int{4, 4}},
		{"short last block", pattern(1, 10), []int64{0, 4, 8}, []int{4, 4, 2}},
		{"zero block in the middle is skipped", concat(pattern(1, 4), make([]byte, 4), pattern(2, 4)), []int64{0, 8}, []int{4, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := SplitBlocks(tt.data, bs)
			var offsets []int64
			var lengths []int
			for _, b := range got {
				offsets = append(offsets, b.Offset)
				lengths = append(lengths, len(b.Data))
				g.Expect(b.Data).To(Equal(tt.data[b.Offset : b.Offset+int64(len(b.Data))]))
			}
			g.Expect(offsets).To(Equal(tt.offsets))
			g.Expect(lengths).To(Equal(tt.lengths))
		})
	}
}

// mappings backs data up into a block map, as upload does.
func mappings(data []byte, bs int64, blocks map[string][]byte) []BlockMapping {
	var out []BlockMapping
	for _, b := range SplitBlocks(data, bs) {
		sum := Checksum(b.Data)
		blocks[sum] = b.Data
		out = append(out, BlockMapping{Offset: b.Offset, BlockChecksum: sum})
	}
	return out
}

// apply runs a restore plan on have, as restore does.
func apply(have []byte, steps []RestoreStep, blocks map[string][]byte, size int64) []byte {
	out := make([]byte, max(int64(len(have)), size))
	copy(out, have)
	for _, s := range steps {
		if s.BlockChecksum == "" {
			copy(out[s.Offset:s.Offset+s.Length], make([]byte, s.Length))
			continue
		}
		copy(out[s.Offset:], blocks[s.BlockChecksum])
	}
	return out[:size]
}

func TestPlanRestore(t *testing.T) {
	const bs = 4
	a, b, c, d := pattern(1, 4), pattern(2, 4), pattern(3, 4), pattern(4, 4)
	zero := make([]byte, 4)
	tests := []struct {
		name       string
		have, want []byte
		// offsets of the steps, and how many bytes come from the store
		steps   []int64
		fetched int64
	}{
		{"identical: nothing moves", concat(a, b, c), concat(a, b, c), nil, 0},
		{"empty volume: everything moves", nil, concat(a, b, c), []int64{0, 4, 8}, 12},
		{"one block changed", concat(a, b, c), concat(a, d, c), []int64{4}, 4},
		{"block zeroed: written locally", concat(a, b, c), concat(a, zero, c), []int64{4}, 0},
		{"zero stays zero", concat(a, zero, c), concat(a, zero, d), []int64{8}, 4},
		{"volume shrinks: truncation only", concat(a, b, c, d), concat(a, b), nil, 0},
		{"volume grows", concat(a, b), concat(a, b, c, d), []int64{8, 12}, 8},
		{"short last block changes length", concat(a, b[:2]), concat(a, b[:3]), []int64{4}, 3},
		{"growth past zeros is free", concat(a), concat(a, zero), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			blocks := map[string][]byte{}
			want := mappings(tt.want, bs, blocks)
			steps := PlanRestore(tt.have, want, int64(len(tt.want)), bs)
			var offsets []int64
			for _, s := range steps {
				offsets = append(offsets, s.Offset)
			}
			g.Expect(offsets).To(Equal(tt.steps))
			g.Expect(FetchBytes(steps)).To(Equal(tt.fetched))
			g.Expect(apply(tt.have, steps, blocks, int64(len(tt.want)))).To(Equal(tt.want))
		})
	}
}
