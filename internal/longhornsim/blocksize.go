package longhornsim

import (
	"fmt"
	"strconv"

	"github.com/drplan/drplan/internal/longhorn"
	"github.com/drplan/drplan/internal/longhornsim/backupstore"
)

// Backup block sizes (REFERENCE §1.1 backupBlockSize, §3.1, §10.11).

// Longhorn's backup block sizes (types.BackupBlockSize2Mi, BackupBlockSize16Mi,
// BackupBlockSizeInvalid) and the backup config parameter that holds one
// (LonghornBackupParameterBackupBlockSize).
const (
	backupBlockSize2Mi       int64 = 2 << 20
	backupBlockSize16Mi      int64 = 16 << 20
	backupBlockSizeInvalid   int64 = -1
	backupParameterBlockSize       = "backup-block-size"
)

// AnnotationBackupBlockSize records on a Backup CR its spec.backupBlockSize ("-1", "2097152" or
// "16777216"), which drplan's Backup type does not hold: the simulator writes the field too (the
// API server prunes it while the CRD lacks it) and reads this annotation. A Backup without it has
// Longhorn's legacy 0, taken as 2 MiB.
const AnnotationBackupBlockSize = AnnotationPrefix + "backup-block-size"

// validateBackupBlockSize is types.ValidateBackupBlockSize; a negative volSize skips the size
// check.
func validateBackupBlockSize(volSize, blockSize int64) error {
	if blockSize != backupBlockSize2Mi && blockSize != backupBlockSize16Mi {
		return fmt.Errorf("unsupported BackupBlockSize: %v", blockSize)
	}
	if volSize >= 0 && volSize%blockSize != 0 {
		return fmt.Errorf("volume size %v must be an integer multiple of the backup block size %v", volSize, blockSize)
	}
	return nil
}

// backupBlockSizeOf is a Backup CR's spec.backupBlockSize, 0 when unset.
func backupBlockSizeOf(b *longhorn.Backup) int64 {
	n, err := strconv.ParseInt(b.Annotations[AnnotationBackupBlockSize], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// volumeBackupBlockSize is the spec.backupBlockSize the volume mutator gives a volume
// (volumeMutator.mutate): a standby volume's is always its fromBackup Backup's (2 MiB when that
// is 0); any other volume's is the setting default-backup-block-size, 2 MiB.
func volumeBackupBlockSize(v *longhorn.Volume, fromBackup *longhorn.Backup) int64 {
	if v.Spec.Standby && fromBackup != nil {
		if bs := backupBlockSizeOf(fromBackup); bs != 0 {
			return bs
		}
	}
	return backupBlockSize2Mi
}

// pulledBackupBlockSize is the block size BackupVolumeController gives a Backup CR it pulls from
// the store, from the backup's config read at that moment (readErr when it could not be read:
// unreachable, in progress, missing). Anything Longhorn cannot read or does not accept is
// BackupBlockSizeInvalid, and stays so: nothing updates a pulled Backup's block size later. The
// simulator's own Options.BlockSize, a test size, stands for 2 MiB.
func (s *Sim) pulledBackupBlockSize(sb *backupstore.Backup, readErr error) int64 {
	if readErr != nil || sb == nil || sb.Labels == nil {
		return backupBlockSizeInvalid
	}
	param := sb.Parameters[backupParameterBlockSize]
	size, err := convertSize(param)
	switch {
	case err != nil:
		return backupBlockSizeInvalid
	case size == 0, size == s.opts.BlockSize:
		return backupBlockSize2Mi
	case validateBackupBlockSize(-1, size) != nil:
		return backupBlockSizeInvalid
	default:
		return size
	}
}
