package longhorn

import (
	"fmt"
	"net/url"
	"regexp"
)

// Query parameters of a Backup URL.
const (
	backupURLVolumeParam = "volume"
	backupURLBackupParam = "backup"
)

// nameRE is the backupstore's name check (util.ValidateName).
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// BackupURL is a decoded Backup URL (REFERENCE §3.4).
//
// +kubebuilder:object:generate=false
type BackupURL struct {
	// TargetURL is the backup target's URL, with any query options it had (nfsOptions, ...).
	TargetURL string
	// VolumeName is the volume's name in the store.
	VolumeName string
	// BackupName is the backup's name; empty for a URL that names a backup volume only.
	BackupName string
}

// EncodeBackupURL returns the URL of backup backupName of volume volumeName in the target at
// targetURL, as backupstore.EncodeBackupURL does: the target URL's query plus "volume" and (when
// backupName is set) "backup", encoded with url.Values.Encode, keys in alphabetical order. Prefer
// Backup.status.url verbatim when there is one.
func EncodeBackupURL(backupName, volumeName, targetURL string) (string, error) {
	if !nameRE.MatchString(volumeName) {
		return "", fmt.Errorf("encode backup url for volume %q: invalid volume name", volumeName)
	}
	if backupName != "" && !nameRE.MatchString(backupName) {
		return "", fmt.Errorf("encode backup url for backup %q: invalid backup name", backupName)
	}
	u, err := url.Parse(targetURL)
	if err != nil {
		return "", fmt.Errorf("encode backup url for volume %s: parse target url: %w", volumeName, err)
	}
	v, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		v = url.Values{} // as backupstore does: a broken query is dropped
	}
	v.Add(backupURLVolumeParam, volumeName)
	if backupName != "" {
		v.Add(backupURLBackupParam, backupName)
	}
	u.RawQuery = v.Encode()
	return u.String(), nil
}

// ParseBackupURL decodes a Backup URL (a volume's spec.fromBackup, a Backup's status.url) as
// backupstore.DecodeBackupURL does: the volume name must be valid, the backup name valid when
// present, and the target URL keeps its other query options.
func ParseBackupURL(raw string) (BackupURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return BackupURL{}, fmt.Errorf("parse backup url: %w", err)
	}
	v := u.Query()
	out := BackupURL{VolumeName: v.Get(backupURLVolumeParam), BackupName: v.Get(backupURLBackupParam)}
	if !nameRE.MatchString(out.VolumeName) {
		return BackupURL{}, fmt.Errorf("parse backup url: invalid volume name %q", out.VolumeName)
	}
	if out.BackupName != "" && !nameRE.MatchString(out.BackupName) {
		return BackupURL{}, fmt.Errorf("parse backup url: invalid backup name %q", out.BackupName)
	}
	v.Del(backupURLVolumeParam)
	v.Del(backupURLBackupParam)
	u.RawQuery = v.Encode()
	out.TargetURL = u.String()
	return out, nil
}

// String encodes b; it is "" when b does not encode (use EncodeBackupURL to see why).
func (b BackupURL) String() string {
	s, err := EncodeBackupURL(b.BackupName, b.VolumeName, b.TargetURL)
	if err != nil {
		return ""
	}
	return s
}
