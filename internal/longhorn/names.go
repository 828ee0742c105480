package longhorn

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

const (
	// BackupNamePrefix starts every backup name.
	BackupNamePrefix = "backup-"
	// backupVolumeHashLength is util.RandomIDLength in longhorn-manager.
	backupVolumeHashLength = 8
)

var backupNameRE = regexp.MustCompile(`^backup-[0-9a-f]{16}$`)

// BackupVolumeName returns the name Longhorn (v1.9.1 and later) gives the BackupVolume CR of
// volume in the BackupTarget target: "<volume>-" and the first 8 hex digits of the SHA-256 of
// "<volume>-<target>", the same in every cluster (REFERENCE §1.9, types.GetBackupVolumeNameFromVolumeName).
// Find BackupVolumes by BackupVolumeLabels all the same: older installs used random names.
func BackupVolumeName(volume, target string) string {
	sum := sha256.Sum256([]byte(volume + "-" + target))
	return volume + "-" + hex.EncodeToString(sum[:])[:backupVolumeHashLength]
}

// EngineName returns the name of a volume's first engine, "<volume>-e-0"; a later engine (after
// an upgrade or migration) counts up (types.GenerateEngineNameForVolume). Find engines by the
// LabelLonghornVolume label; with two, use the one with spec.active.
func EngineName(volume string) string {
	return volume + "-e-0"
}

// IsBackupName reports whether name has the form of a Longhorn backup name.
func IsBackupName(name string) bool {
	return backupNameRE.MatchString(name)
}
