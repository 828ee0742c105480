package longhornsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// volumeData keeps each volume's data as a small file, <dir>/<volume>.img, whose length is the
// end of the highest write (not the volume's size: volumes are GiBs, test data is KiBs or MiBs).
// A data file is what the "replicas" of a simulated volume hold: backups read it, restores
// write it.
type volumeData struct {
	dir string
	mu  sync.Mutex // one writer at a time per cluster; reads take it too
}

func (d *volumeData) path(volume string) string {
	return filepath.Join(d.dir, volume+".img")
}

// read returns a copy of the volume's data; a volume never written holds no data.
func (d *volumeData) read(volume string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	data, err := os.ReadFile(d.path(volume))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read data of volume %s: %w", volume, err)
	}
	return data, nil
}

// write writes data at offset, extending the file as needed.
func (d *volumeData) write(volume string, offset int64, data []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("write data of volume %s: %w", volume, err)
	}
	f, err := os.OpenFile(d.path(volume), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("write data of volume %s: %w", volume, err)
	}
	if _, err := f.WriteAt(data, offset); err != nil {
		_ = f.Close()
		return fmt.Errorf("write data of volume %s: %w", volume, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write data of volume %s: %w", volume, err)
	}
	return nil
}

// truncate sets the length of the volume's data.
func (d *volumeData) truncate(volume string, size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("truncate data of volume %s: %w", volume, err)
	}
	f, err := os.OpenFile(d.path(volume), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("truncate data of volume %s: %w", volume, err)
	}
	if err := f.Truncate(size); err != nil {
		_ = f.Close()
		return fmt.Errorf("truncate data of volume %s: %w", volume, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("truncate data of volume %s: %w", volume, err)
	}
	return nil
}

// remove deletes the volume's data.
func (d *volumeData) remove(volume string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.Remove(d.path(volume)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove data of volume %s: %w", volume, err)
	}
	return nil
}

// snapshotInfo is what the simulated engine knows of one snapshot (Longhorn's
// engine.status.snapshots[name], a SnapshotInfo): the snapshot controller copies it into the
// Snapshot CR's status.
type snapshotInfo struct {
	Volume      string            `json:"volume"`
	Created     string            `json:"created"` // RFC 3339
	Size        int64             `json:"size"`
	RestoreSize int64             `json:"restoreSize"` // the volume's size
	UserCreated bool              `json:"userCreated"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Snapshots live apart from volumes, <dir>/snapshots/<name>.img and .json: volume names cannot
// hold a slash, so the two never collide.
func (d *volumeData) snapshotPath(name, ext string) string {
	return filepath.Join(d.dir, "snapshots", name+ext)
}

// takeSnapshot captures the volume's data now under name, unless a snapshot of that name exists
// already, and returns the snapshot's info. The data is written before the info, so a snapshot
// whose info exists is complete.
func (d *volumeData) takeSnapshot(volume, name string, info snapshotInfo) (*snapshotInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if got, err := d.snapshotLocked(name); err != nil || got != nil {
		return got, err
	}
	data, err := os.ReadFile(d.path(volume))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("snapshot data of volume %s: %w", volume, err)
	}
	if err := os.MkdirAll(filepath.Join(d.dir, "snapshots"), 0o755); err != nil {
		return nil, fmt.Errorf("snapshot data of volume %s: %w", volume, err)
	}
	if err := os.WriteFile(d.snapshotPath(name, ".img"), data, 0o644); err != nil {
		return nil, fmt.Errorf("snapshot data of volume %s: %w", volume, err)
	}
	info.Volume, info.Size = volume, int64(len(data))
	raw, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("snapshot data of volume %s: %w", volume, err)
	}
	if err := os.WriteFile(d.snapshotPath(name, ".json"), raw, 0o644); err != nil {
		return nil, fmt.Errorf("snapshot data of volume %s: %w", volume, err)
	}
	return &info, nil
}

// snapshot returns a snapshot's info, nil when it was never taken or is removed.
func (d *volumeData) snapshot(name string) (*snapshotInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snapshotLocked(name)
}

func (d *volumeData) snapshotLocked(name string) (*snapshotInfo, error) {
	raw, err := os.ReadFile(d.snapshotPath(name, ".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", name, err)
	}
	var info snapshotInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", name, err)
	}
	return &info, nil
}

// readSnapshot returns a copy of the data a snapshot captured.
func (d *volumeData) readSnapshot(name string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	data, err := os.ReadFile(d.snapshotPath(name, ".img"))
	if err != nil {
		return nil, fmt.Errorf("read data of snapshot %s: %w", name, err)
	}
	return data, nil
}

// removeSnapshot deletes a snapshot's info, then its data.
func (d *volumeData) removeSnapshot(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ext := range []string{".json", ".img"} {
		if err := os.Remove(d.snapshotPath(name, ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove snapshot %s: %w", name, err)
		}
	}
	return nil
}
