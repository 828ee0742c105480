package backupstore

import "bytes"

// Block sizes Longhorn accepts for backups (REFERENCE §1.1 backupBlockSize); the simulator also
// takes smaller powers of two so that test volumes stay small.
const (
	BlockSize2Mi  int64 = 2 << 20
	BlockSize16Mi int64 = 16 << 20
)

// DataBlock is one block of a volume's data at a block-aligned offset.
type DataBlock struct {
	Offset int64
	Data   []byte
}

// SplitBlocks cuts data into blocks of size bs, the last one possibly shorter. Blocks that hold
// only zeros are left out: like unwritten extents in a snapshot, they are not uploaded and a
// restore writes zeros there.
func SplitBlocks(data []byte, bs int64) []DataBlock {
	var out []DataBlock
	for off := int64(0); off < int64(len(data)); off += bs {
		end := min(off+bs, int64(len(data)))
		b := data[off:end]
		if isZero(b) {
			continue
		}
		out = append(out, DataBlock{Offset: off, Data: b})
	}
	return out
}

// RestoreStep is one block a restore must write: fetch BlockChecksum from the store, or write
// zeros when BlockChecksum is empty.
type RestoreStep struct {
	Offset        int64
	Length        int64
	BlockChecksum string
}

// PlanRestore compares the data a volume holds (have) with a backup (want: its block mappings
// and data size) and returns the blocks that differ, in offset order. Blocks already equal are
// skipped: that is what makes a restore incremental. The caller truncates the data to dataSize.
func PlanRestore(have []byte, want []BlockMapping, dataSize, bs int64) []RestoreStep {
	mapped := make(map[int64]string, len(want))
	for _, m := range want {
		mapped[m.Offset] = m.BlockChecksum
	}
	var steps []RestoreStep
	for off := int64(0); off < dataSize; off += bs {
		end := min(off+bs, dataSize)
		var cur []byte
		if off < int64(len(have)) {
			cur = have[off:min(end, int64(len(have)))]
		}
		sum, ok := mapped[off]
		switch {
		case ok && int64(len(cur)) == end-off && Checksum(cur) == sum:
			continue
		case !ok && isZero(cur):
			// The target is zeros; bytes past the current end read as zeros once extended.
			continue
		}
		steps = append(steps, RestoreStep{Offset: off, Length: end - off, BlockChecksum: sum})
	}
	return steps
}

// FetchBytes is the number of bytes a restore plan moves from the store; zero blocks are local.
func FetchBytes(steps []RestoreStep) int64 {
	var n int64
	for _, s := range steps {
		if s.BlockChecksum != "" {
			n += s.Length
		}
	}
	return n
}

var zeroBuf = make([]byte, 64<<10)

func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeroBuf))
		if !bytes.Equal(b[:n], zeroBuf[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
