package local

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble/vfs"
	"golang.org/x/sys/unix"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// FS is the filesystem the engine keeps its data files on (tmp/ and
// objects/): exactly the operations a write, a read, a delete and the
// start-up sweep make. The engine's durability rests on its fsyncs
// (WritableFile.Sync, SyncDir), so an implementation may keep anything not
// yet synced in volatile memory; the power-loss test's implementation
// drops it at a simulated crash. Implementations must be safe for
// concurrent use. Errors for missing or existing paths wrap fs.ErrNotExist
// and fs.ErrExist.
type FS interface {
	// Create creates name for writing; it fails if name exists. mode says
	// how the file uses the page cache (store.PutOptions.Cache), where the
	// filesystem allows a choice.
	Create(name string, mode store.CacheMode) (WritableFile, error)
	// Open opens name for reading.
	Open(name string) (blockfile.ReadFile, error)
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes name and everything below it.
	RemoveAll(name string) error
	// Mkdir creates one directory.
	Mkdir(name string) error
	// Stat describes name.
	Stat(name string) (fs.FileInfo, error)
	// ReadDir lists dir, sorted by name.
	ReadDir(dir string) ([]fs.DirEntry, error)
	// SyncDir makes dir's entries (creations, renames, removals) durable.
	SyncDir(dir string) error
}

// WritableFile is a data file being written; Sync makes its bytes durable.
type WritableFile interface {
	io.Writer
	Sync() error
	Close() error
}

// osFS is the production FS: the operating system's. A data file goes
// through the page cache (writebackFile), so what was just written is
// read from memory, unless it is created with store.CacheNone or
// CacheReadBack: then it is written with O_DIRECT where the filesystem
// allows it (directFile; read back after its sync with CacheReadBack), at
// most maxDirectFiles at once so that their buffers stay bounded however
// many uploads stream; more at once, and every file on a filesystem that
// refuses O_DIRECT, go through the page cache too. Safe for concurrent
// use.
type osFS struct {
	chunks *sync.Pool    // aligned buffers of directFile
	direct chan struct{} // a token per directFile open
}

// maxDirectFiles bounds the data files written with O_DIRECT at once,
// and so their buffers' memory (maxDirectFiles × 2 × directChunk: 128 MiB).
const maxDirectFiles = 64

func newOSFS() *osFS {
	return &osFS{chunks: &sync.Pool{New: func() any { return newAlignedChunk() }},
		direct: make(chan struct{}, maxDirectFiles)}
}

func (o *osFS) Create(name string, mode store.CacheMode) (WritableFile, error) {
	if mode == store.CacheWrite {
		return createBuffered(name)
	}
	select {
	case o.direct <- struct{}{}:
		wf, err := o.createDirect(name)
		d, ok := wf.(*directFile)
		if !ok {
			<-o.direct
		} else {
			d.readBack = mode == store.CacheReadBack
		}
		return wf, err
	default:
		return createBuffered(name)
	}
}

// createDirect opens name with O_DIRECT; a filesystem that refuses it
// (tmpfs on older kernels, perhaps after creating the file) gets a
// buffered file instead (and Create takes the token back).
func (o *osFS) createDirect(name string) (WritableFile, error) {
	const flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	f, err := os.OpenFile(name, flags|unix.O_DIRECT, 0o644)
	if err == nil {
		return newDirectFile(f, o.chunks, func() { <-o.direct }), nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return nil, err
	}
	if rerr := os.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return nil, rerr
	}
	return createBuffered(name)
}

// createBuffered creates name written through the page cache.
func createBuffered(name string) (WritableFile, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &writebackFile{f: f}, nil
}

// Open returns an *os.File (OpenFile relies on it).
func (*osFS) Open(name string) (blockfile.ReadFile, error) { return os.Open(name) }

func (*osFS) Rename(oldname, newname string) error      { return os.Rename(oldname, newname) }
func (*osFS) Remove(name string) error                  { return os.Remove(name) }
func (*osFS) RemoveAll(name string) error               { return os.RemoveAll(name) }
func (*osFS) Mkdir(name string) error                   { return os.Mkdir(name, 0o755) }
func (*osFS) Stat(name string) (fs.FileInfo, error)     { return os.Stat(name) }
func (*osFS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }

func (*osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// syncDir fsyncs dir on the engine's data filesystem.
func (e *Engine) syncDir(dir string) error {
	if err := e.fs.SyncDir(dir); err != nil {
		return fmt.Errorf("local: fsync %s: %w", dir, err)
	}
	return nil
}

// mkdirSynced creates dir and its missing parents on the data filesystem,
// fsyncing the parent of each directory it creates so that the new entry
// survives a power loss.
func (e *Engine) mkdirSynced(dir string) error {
	if _, err := e.fs.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: %w", err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := e.mkdirSynced(parent); err != nil {
			return err
		}
	}
	if err := e.fs.Mkdir(dir); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("local: %w", err)
	}
	return e.syncDir(parent)
}

// mkdirSyncedVFS is mkdirSynced on the index filesystem: Pebble syncs the
// files it makes in its directory, not the directory's own entry.
func mkdirSyncedVFS(ifs vfs.FS, dir string) error {
	if _, err := ifs.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local: %w", err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirSyncedVFS(ifs, parent); err != nil {
			return err
		}
	}
	if err := ifs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	d, err := ifs.OpenDir(parent)
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("local: fsync %s: %w", parent, err)
	}
	return nil
}
