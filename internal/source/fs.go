package source

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// treeFS is an immutable in-memory fs.FS holding the files of one git tree. Safe for
// concurrent use, and independent of the cache it was read from.
type treeFS struct {
	modTime time.Time
	files   map[string]*node // "a/b.yaml"
	dirs    map[string]*node // "." and "a"
}

// node is a file or a directory.
type node struct {
	name    string // base name ("." for the root)
	data    []byte
	dir     bool
	mode    fs.FileMode
	entries []fs.DirEntry // sorted by name, directories only
	modTime time.Time
}

var (
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
)

func newTreeFS(modTime time.Time) *treeFS {
	return &treeFS{
		modTime: modTime,
		files:   map[string]*node{},
		dirs:    map[string]*node{".": {name: ".", dir: true, mode: fs.ModeDir | 0o555, modTime: modTime}},
	}
}

// addFile adds a file and its parent directories. Paths come from git trees: valid and unique.
func (t *treeFS) addFile(name string, data []byte, executable bool) {
	mode := fs.FileMode(0o444)
	if executable {
		mode = 0o555
	}
	n := &node{name: path.Base(name), data: data, mode: mode, modTime: t.modTime}
	t.files[name] = n
	t.parent(name).entries = append(t.parent(name).entries, fs.FileInfoToDirEntry(n))
}

// addDir adds an (possibly empty) directory and its parents.
func (t *treeFS) addDir(name string) *node {
	if d, ok := t.dirs[name]; ok {
		return d
	}
	d := &node{name: path.Base(name), dir: true, mode: fs.ModeDir | 0o555, modTime: t.modTime}
	t.dirs[name] = d
	p := t.parent(name)
	p.entries = append(p.entries, fs.FileInfoToDirEntry(d))
	return d
}

func (t *treeFS) parent(name string) *node {
	dir := path.Dir(name)
	if dir == "." {
		return t.dirs["."]
	}
	return t.addDir(dir)
}

// seal sorts directory entries; called once the tree is read.
func (t *treeFS) seal() {
	for _, d := range t.dirs {
		slices.SortFunc(d.entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	}
}

func (t *treeFS) lookup(op, name string) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if n, ok := t.files[name]; ok {
		return n, nil
	}
	if n, ok := t.dirs[name]; ok {
		return n, nil
	}
	return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

// Open implements fs.FS.
func (t *treeFS) Open(name string) (fs.File, error) {
	n, err := t.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return &openDir{node: n, path: name}, nil
	}
	return &openFile{node: n, r: bytes.NewReader(n.data)}, nil
}

// ReadFile implements fs.ReadFileFS; the caller owns the returned slice.
func (t *treeFS) ReadFile(name string) ([]byte, error) {
	n, err := t.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	}
	return bytes.Clone(n.data), nil
}

// ReadDir implements fs.ReadDirFS.
func (t *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := t.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	return slices.Clone(n.entries), nil
}

// Stat implements fs.StatFS.
func (t *treeFS) Stat(name string) (fs.FileInfo, error) {
	n, err := t.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return n, nil
}

var (
	errIsDir  = errors.New("is a directory")
	errNotDir = errors.New("not a directory")
)

// node is its own fs.FileInfo.
func (n *node) Name() string       { return n.name }
func (n *node) Size() int64        { return int64(len(n.data)) }
func (n *node) Mode() fs.FileMode  { return n.mode }
func (n *node) ModTime() time.Time { return n.modTime }
func (n *node) IsDir() bool        { return n.dir }
func (n *node) Sys() any           { return nil }

type openFile struct {
	node *node
	r    *bytes.Reader
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.node, nil }
func (f *openFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *openFile) Close() error               { return nil }

// Seek and ReadAt make files usable with http.FileServer and parsers that seek.
func (f *openFile) Seek(off int64, whence int) (int64, error) { return f.r.Seek(off, whence) }
func (f *openFile) ReadAt(b []byte, off int64) (int, error)   { return f.r.ReadAt(b, off) }

type openDir struct {
	node *node
	path string
	off  int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.node, nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errIsDir}
}
func (d *openDir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.node.entries[d.off:]
	if n <= 0 {
		d.off += len(rest)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return slices.Clone(rest[:n]), nil
}
