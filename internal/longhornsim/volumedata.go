package longhornsim

import (
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
