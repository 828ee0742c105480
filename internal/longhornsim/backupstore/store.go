package backupstore

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Store layout names, as longhorn's backupstore writes them (REFERENCE §3.4 "Remote layout";
// backupstore config.go, types.go): backupstore/volumes/<xx>/<yy>/<volume>/volume.cfg,
// .../backups/backup_<name>.cfg and .../blocks/<aa>/<bb>/<checksum>.blk.
const (
	storeBase        = "backupstore"
	storeVolumesDir  = "volumes"
	storeVolumeCfg   = "volume.cfg"
	storeBackupsDir  = "backups"
	storeBlocksDir   = "blocks"
	storeBackupPfx   = "backup_"
	storeCfgSuffix   = ".cfg"
	storeBlockSuffix = ".blk"
	// checksumLength is backupstore's PreservedChecksumLength: SHA-512 in hex, cut to 64.
	checksumLength = 64
)

// ErrUnreachable is returned by every Store operation while the store is unreachable
// (Store.SetReachable(false), or longhornsim's Sim.SetStoreReachable(false) for one cluster).
var ErrUnreachable = errors.New("backup store unreachable")

// ErrNotFound is returned when a backup volume, backup or block is not in the store.
var ErrNotFound = errors.New("not found in backup store")

// ErrInProgress is returned by InspectBackup for a backup whose upload has not finished.
var ErrInProgress = errors.New("in progress")

// Store is the backup store that every simulated cluster shares: a directory laid out like a
// longhorn backupstore. One Store value may be used by several Sims in one process.
type Store struct {
	dir         string
	url         string
	unreachable atomic.Bool

	mu sync.Mutex // serialises writers of volume.cfg and block garbage collection
}

// New returns the store kept in dir (created if missing). Its BackupTarget URL is
// nfs://longhornsim:<dir>, an NFS-shaped URL (REFERENCE §3.4) naming the directory.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open backup store %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, storeBase, storeVolumesDir), 0o755); err != nil {
		return nil, fmt.Errorf("open backup store %s: %w", dir, err)
	}
	return &Store{dir: abs, url: "nfs://longhornsim:" + abs}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// URL is the backup target URL that designates this store in a BackupTarget's
// spec.backupTargetURL.
func (s *Store) URL() string { return s.url }

// SetReachable makes the whole store reachable or not, for every cluster (a store outage).
func (s *Store) SetReachable(ok bool) { s.unreachable.Store(!ok) }

// Reachable reports whether the store answers.
func (s *Store) Reachable() bool { return !s.unreachable.Load() }

// Volume is a backup volume's volume.cfg, with backupstore's JSON keys.
type Volume struct {
	Name              string
	Size              int64 `json:",string"`
	Labels            map[string]string
	CreatedTime       string
	LastBackupName    string
	LastBackupAt      string
	BlockCount        int64  `json:",string"`
	CompressionMethod string `json:",string"`
	StorageClassName  string `json:",string"`
	DataEngine        string `json:",string"`
}

// BlockMapping is one block of a backup: where it goes and its content checksum.
type BlockMapping struct {
	Offset        int64
	BlockChecksum string
}

// Backup is a backup's backup_<name>.cfg with backupstore's JSON keys. DataSize is the
// simulator's own field: the length of the volume's data file when the backup was taken, so
// that a restore reproduces the exact bytes.
type Backup struct {
	Name                  string
	VolumeName            string
	SnapshotName          string
	SnapshotCreatedAt     string
	CreatedTime           string
	Size                  int64 `json:",string"`
	Labels                map[string]string
	Parameters            map[string]string
	IsIncremental         bool
	CompressionMethod     string
	NewlyUploadedDataSize int64 `json:",string"`
	ReUploadedDataSize    int64 `json:",string"`
	Blocks                []BlockMapping
	DataSize              int64 `json:",string"`
}

// InProgress reports whether the backup's upload has not finished: its config is the one an
// upload writes first, without a creation time (backupstore isBackupInProgress).
func (b *Backup) InProgress() bool { return b.CreatedTime == "" }

// Checksum is backupstore's util.GetChecksum: SHA-512 hex, first 64 characters.
func Checksum(data []byte) string {
	sum := sha512.Sum512(data)
	return hex.EncodeToString(sum[:])[:checksumLength]
}

// volumePath is backupstore's getVolumePath: two directory levels from the checksum of the
// volume name.
func volumePath(volume string) string {
	c := Checksum([]byte(volume))
	return filepath.Join(storeBase, storeVolumesDir, c[0:2], c[2:4], volume)
}

func backupCfgPath(volume, backup string) string {
	return filepath.Join(volumePath(volume), storeBackupsDir, storeBackupPfx+backup+storeCfgSuffix)
}

func blockPath(volume, sum string) string {
	return filepath.Join(volumePath(volume), storeBlocksDir, sum[0:2], sum[2:4], sum+storeBlockSuffix)
}

func (s *Store) check() error {
	if !s.Reachable() {
		return ErrUnreachable
	}
	return nil
}

// VolumeNames lists the backup volumes in the store, sorted.
func (s *Store) VolumeNames() ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	matches, err := filepath.Glob(filepath.Join(s.dir, storeBase, storeVolumesDir, "*", "*", "*", storeVolumeCfg))
	if err != nil {
		return nil, fmt.Errorf("list backup volumes in %s: %w", s.url, err)
	}
	names := make([]string, 0, len(matches))
	for _, m := range matches {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	slices.Sort(names)
	return names, nil
}

// Volume reads a backup volume's volume.cfg and its modification time.
func (s *Store) Volume(volume string) (*Volume, time.Time, error) {
	if err := s.check(); err != nil {
		return nil, time.Time{}, err
	}
	path := filepath.Join(s.dir, volumePath(volume), storeVolumeCfg)
	var v Volume
	if err := readJSON(path, &v); err != nil {
		return nil, time.Time{}, fmt.Errorf("read backup volume %s in %s: %w", volume, s.url, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read backup volume %s in %s: %w", volume, s.url, err)
	}
	return &v, fi.ModTime(), nil
}

// BackupNames lists the backups of a backup volume, those in progress included, sorted.
func (s *Store) BackupNames(volume string) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, volumePath(volume), storeBackupsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups of volume %s in %s: %w", volume, s.url, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, storeBackupPfx) && strings.HasSuffix(n, storeCfgSuffix) {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(n, storeBackupPfx), storeCfgSuffix))
		}
	}
	slices.Sort(names)
	return names, nil
}

// Backup reads one backup's config.
func (s *Store) Backup(volume, backup string) (*Backup, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var b Backup
	if err := readJSON(filepath.Join(s.dir, backupCfgPath(volume, backup)), &b); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = ErrNotFound
		}
		return nil, fmt.Errorf("read backup %s of volume %s in %s: %w", backup, volume, s.url, err)
	}
	return &b, nil
}

// InspectBackup reads one backup's config as longhorn-manager's BackupGet does
// (backupstore.InspectBackup): a backup still being uploaded is an error wrapping ErrInProgress,
// with backupstore's message "backup <name> is still in progress".
func (s *Store) InspectBackup(volume, backup string) (*Backup, error) {
	b, err := s.Backup(volume, backup)
	if err != nil {
		return nil, err
	}
	if b.InProgress() {
		return nil, fmt.Errorf("backup %v is still in progress: %w", b.Name, ErrInProgress)
	}
	return b, nil
}

// HasBlock reports whether a block is already stored for the volume.
func (s *Store) HasBlock(volume, sum string) bool {
	_, err := os.Stat(filepath.Join(s.dir, blockPath(volume, sum)))
	return err == nil
}

// PutBlock stores one block under its checksum (write once: an existing block is kept).
// It reports whether the block was new.
func (s *Store) PutBlock(volume string, data []byte) (string, bool, error) {
	if err := s.check(); err != nil {
		return "", false, err
	}
	sum := Checksum(data)
	path := filepath.Join(s.dir, blockPath(volume, sum))
	if _, err := os.Stat(path); err == nil {
		return sum, false, nil
	}
	if err := writeFileAtomic(path, data); err != nil {
		return "", false, fmt.Errorf("store block %s of volume %s in %s: %w", sum, volume, s.url, err)
	}
	return sum, true, nil
}

// Block reads one block.
func (s *Store) Block(volume, sum string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(s.dir, blockPath(volume, sum)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read block %s of volume %s in %s: %w", sum, volume, s.url, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read block %s of volume %s in %s: %w", sum, volume, s.url, err)
	}
	if Checksum(data) != sum {
		return nil, fmt.Errorf("read block %s of volume %s in %s: checksum mismatch", sum, volume, s.url)
	}
	return data, nil
}

// BeginBackup starts an upload as backupstore's CreateDeltaBlockBackup and performBackup do: the
// backup volume's volume.cfg is created from vol when the backup volume is new, then the
// backup's config is written at once, in progress (no creation time, no blocks), so that the
// backup is listed, and other clusters pull it, while it uploads (REFERENCE §10.10).
// CommitBackup completes it; a failed upload leaves it in progress.
func (s *Store) BeginBackup(vol Volume, name string) error {
	if err := s.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := filepath.Join(s.dir, volumePath(vol.Name), storeVolumeCfg)
	if _, err := os.Stat(cfg); errors.Is(err, fs.ErrNotExist) {
		cur := vol
		cur.LastBackupName, cur.LastBackupAt = "", ""
		if err := writeJSONAtomic(cfg, &cur); err != nil {
			return fmt.Errorf("begin backup %s of volume %s in %s: %w", name, vol.Name, s.url, err)
		}
	}
	b := &Backup{Name: name, VolumeName: vol.Name, CompressionMethod: vol.CompressionMethod}
	if err := writeJSONAtomic(filepath.Join(s.dir, backupCfgPath(vol.Name, name)), b); err != nil {
		return fmt.Errorf("begin backup %s of volume %s in %s: %w", name, vol.Name, s.url, err)
	}
	return nil
}

// CommitBackup writes a backup's config, after its blocks, then updates volume.cfg (creating
// it from vol when the backup volume is new), as backupstore does at the end of an upload.
func (s *Store) CommitBackup(vol Volume, b *Backup) error {
	if err := s.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range b.Blocks {
		if !s.HasBlock(b.VolumeName, m.BlockChecksum) {
			return fmt.Errorf("commit backup %s of volume %s in %s: block %s: %w", b.Name, b.VolumeName, s.url, m.BlockChecksum, ErrNotFound)
		}
	}
	if err := writeJSONAtomic(filepath.Join(s.dir, backupCfgPath(b.VolumeName, b.Name)), b); err != nil {
		return fmt.Errorf("commit backup %s of volume %s in %s: %w", b.Name, b.VolumeName, s.url, err)
	}
	cfg := filepath.Join(s.dir, volumePath(b.VolumeName), storeVolumeCfg)
	var cur Volume
	if err := readJSON(cfg, &cur); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("commit backup %s of volume %s in %s: %w", b.Name, b.VolumeName, s.url, err)
		}
		cur = vol
		cur.Name = b.VolumeName
		if cur.CreatedTime == "" {
			cur.CreatedTime = b.CreatedTime
		}
	}
	cur.Size = vol.Size
	cur.Labels = vol.Labels
	cur.LastBackupName = b.Name
	cur.LastBackupAt = b.SnapshotCreatedAt
	if err := s.countBlocks(&cur); err != nil {
		return err
	}
	if err := writeJSONAtomic(cfg, &cur); err != nil {
		return fmt.Errorf("commit backup %s of volume %s in %s: %w", b.Name, b.VolumeName, s.url, err)
	}
	return nil
}

// DeleteBackup removes a backup as backupstore's DeleteDeltaBlockBackup does: the config goes
// at once; when it was volume.cfg's last backup, lastBackupName is cleared and then pointed at
// the newest remaining backup; the blocks no remaining backup uses are dropped. While any
// remaining backup is in progress both steps are skipped (its blocks are not referenced yet), so
// volume.cfg's lastBackupName can stay empty (REFERENCE §10.10).
func (s *Store) DeleteBackup(volume, backup string) error {
	if err := s.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(filepath.Join(s.dir, backupCfgPath(volume, backup))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete backup %s of volume %s in %s: %w", backup, volume, s.url, err)
	}
	cfg := filepath.Join(s.dir, volumePath(volume), storeVolumeCfg)
	var cur Volume
	if err := readJSON(cfg, &cur); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("delete backup %s of volume %s in %s: %w", backup, volume, s.url, err)
	}
	updateLast := cur.LastBackupName == backup
	if updateLast {
		cur.LastBackupName, cur.LastBackupAt = "", ""
	}
	names, err := s.BackupNames(volume)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	var last *Backup
	deleteBlocks := true
	for _, n := range names {
		b, err := s.Backup(volume, n)
		if err != nil {
			return err
		}
		if b.InProgress() {
			deleteBlocks = false
			break
		}
		for _, m := range b.Blocks {
			used[m.BlockChecksum] = true
		}
		if last == nil || b.SnapshotCreatedAt > last.SnapshotCreatedAt ||
			(b.SnapshotCreatedAt == last.SnapshotCreatedAt && b.CreatedTime > last.CreatedTime) {
			last = b
		}
	}
	if updateLast && deleteBlocks && last != nil {
		cur.LastBackupName, cur.LastBackupAt = last.Name, last.SnapshotCreatedAt
	}
	if deleteBlocks {
		blocks, err := s.blockSums(volume)
		if err != nil {
			return err
		}
		for _, sum := range blocks {
			if !used[sum] {
				if err := os.Remove(filepath.Join(s.dir, blockPath(volume, sum))); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("delete backup %s of volume %s in %s: %w", backup, volume, s.url, err)
				}
			}
		}
		if err := s.countBlocks(&cur); err != nil {
			return err
		}
	}
	if !updateLast && !deleteBlocks {
		return nil
	}
	if err := writeJSONAtomic(cfg, &cur); err != nil {
		return fmt.Errorf("delete backup %s of volume %s in %s: %w", backup, volume, s.url, err)
	}
	return nil
}

// DeleteVolume removes a whole backup volume (backupstore removeVolume).
func (s *Store) DeleteVolume(volume string) error {
	if err := s.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.RemoveAll(filepath.Join(s.dir, volumePath(volume))); err != nil {
		return fmt.Errorf("delete backup volume %s in %s: %w", volume, s.url, err)
	}
	return nil
}

func (s *Store) blockSums(volume string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(s.dir, volumePath(volume), storeBlocksDir, "*", "*", "*"+storeBlockSuffix))
	if err != nil {
		return nil, fmt.Errorf("list blocks of volume %s in %s: %w", volume, s.url, err)
	}
	sums := make([]string, 0, len(matches))
	for _, m := range matches {
		sums = append(sums, strings.TrimSuffix(filepath.Base(m), storeBlockSuffix))
	}
	return sums, nil
}

func (s *Store) countBlocks(v *Volume) error {
	sums, err := s.blockSums(v.Name)
	if err != nil {
		return err
	}
	v.BlockCount = int64(len(sums))
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return nil
}

func writeJSONAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes through a temporary file and a rename, so that a reader in another
// cluster never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}

// ReadBackupData reassembles the data a backup holds: its blocks at their offsets, zeros
// elsewhere, DataSize bytes in all.
func (s *Store) ReadBackupData(volume, backup string) ([]byte, error) {
	b, err := s.Backup(volume, backup)
	if err != nil {
		return nil, err
	}
	out := make([]byte, b.DataSize)
	for _, m := range b.Blocks {
		data, err := s.Block(volume, m.BlockChecksum)
		if err != nil {
			return nil, err
		}
		if m.Offset+int64(len(data)) > b.DataSize {
			return nil, fmt.Errorf("read backup %s of volume %s in %s: block at %d overruns %d bytes", backup, volume, s.url, m.Offset, b.DataSize)
		}
		copy(out[m.Offset:], data)
	}
	return out, nil
}
