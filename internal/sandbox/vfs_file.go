package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// fileData is the content behind a vnode.
type fileData interface {
	readAt(p []byte, off int64) (int, error)
	writeAt(p []byte, off int64) (int, error)
	truncate(size int64) experimentalsys.Errno
	remove()
}

// memData is a /tmp file (or an inline /in input): bytes in worker memory.
type memData struct{ b []byte }

func (m *memData) readAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	return copy(p, m.b[off:]), nil
}

func (m *memData) writeAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.grow(end)
	}
	return copy(m.b[off:], p), nil
}

func (m *memData) grow(size int64) {
	if size <= int64(cap(m.b)) {
		old := len(m.b)
		m.b = m.b[:size]
		clear(m.b[old:])
		return
	}
	nb := make([]byte, size, max(size, 2*int64(cap(m.b))))
	copy(nb, m.b)
	m.b = nb
}

func (m *memData) truncate(size int64) experimentalsys.Errno {
	if size > int64(len(m.b)) {
		m.grow(size)
	} else {
		m.b = m.b[:size]
	}
	return 0
}

func (m *memData) remove() { m.b = nil }

// readerData is an /in input read through an io.ReaderAt: a verifying
// blockfile reader over an object data file, or a plain file. A read error
// other than EOF (a damaged block) is recorded so the run fails.
type readerData struct {
	r    io.ReaderAt
	name string
	st   *runState
}

func (d *readerData) readAt(p []byte, off int64) (int, error) {
	n, err := d.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		if d.st.inputErr == nil {
			d.st.inputErr = fmt.Errorf("reading /in/%s: %w", d.name, err)
		}
		return 0, err // never hand out bytes of a read that failed
	}
	return n, err
}

func (d *readerData) writeAt([]byte, int64) (int, error)   { return 0, syscall.EROFS }
func (d *readerData) truncate(int64) experimentalsys.Errno { return experimentalsys.EROFS }
func (d *readerData) remove()                              {}

// outData is an /out file: a host file in the run's out dir, named by the
// worker, written in place.
type outData struct {
	f    *os.File
	host string // base name in the out dir
}

func (o *outData) readAt([]byte, int64) (int, error) { return 0, syscall.EACCES }
func (o *outData) writeAt(p []byte, off int64) (int, error) {
	return o.f.WriteAt(p, off)
}
func (o *outData) truncate(size int64) experimentalsys.Errno {
	if err := o.f.Truncate(size); err != nil {
		return experimentalsys.EIO
	}
	return 0
}
func (o *outData) remove() {
	o.f.Close()
	os.Remove(o.f.Name())
	o.host = ""
}

// newOutFile creates the next host file of the run's out dir.
func (st *runState) newOutFile() (*outData, experimentalsys.Errno) {
	if st.outDir == "" {
		return nil, experimentalsys.EROFS
	}
	if !st.outDirMade {
		if err := os.Mkdir(st.outDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, experimentalsys.EIO
		}
		st.outDirMade = true
	}
	st.outSeq++
	host := fmt.Sprintf("f%d", st.outSeq)
	f, err := os.OpenFile(filepath.Join(st.outDir, host), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, experimentalsys.EIO
	}
	d := &outData{f: f, host: host}
	st.outFiles = append(st.outFiles, d)
	return d, 0
}

// vfile is an open file or directory of a vfs.
//
// It is declared through a generic type only so that go vet's stdmethods
// check, which insists that any method named Seek be io.Seeker's, accepts
// wazero's Seek(int64, int) (int64, Errno): with the offset typed by a
// type parameter vet leaves it alone, and vfile is the int64 instance.
type vfile = vfileOf[int64]

type vfileOf[Off ~int64] struct {
	experimentalsys.UnimplementedFile
	fs                  *vfs
	n                   *vnode
	off                 int64
	read, write, append bool
	dirents             []experimentalsys.Dirent // nil until the first Readdir
	closed              bool
}

func (f *vfileOf[Off]) Ino() (sys.Inode, experimentalsys.Errno) { return f.n.ino, 0 }
func (f *vfileOf[Off]) IsDir() (bool, experimentalsys.Errno)    { return f.n.dir, 0 }
func (f *vfileOf[Off]) IsAppend() bool                          { return f.append }
func (f *vfileOf[Off]) SetAppend(enable bool) experimentalsys.Errno {
	f.append = enable
	return 0
}
func (f *vfileOf[Off]) Stat() (sys.Stat_t, experimentalsys.Errno) { return f.fs.stat(f.n), 0 }

func (f *vfileOf[Off]) Read(p []byte) (int, experimentalsys.Errno) {
	n, errno := f.Pread(p, f.off)
	f.off += int64(n)
	return n, errno
}

func (f *vfileOf[Off]) Pread(p []byte, off int64) (int, experimentalsys.Errno) {
	switch {
	case f.closed:
		return 0, experimentalsys.EBADF
	case f.n.dir:
		return 0, experimentalsys.EISDIR
	case !f.read:
		return 0, experimentalsys.EBADF
	case off < 0:
		return 0, experimentalsys.EINVAL
	case off >= f.n.size || len(p) == 0:
		return 0, 0
	}
	if rest := f.n.size - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := f.n.file.readAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, experimentalsys.EIO
	}
	if f.fs.kind == fsIn {
		f.fs.st.inputBytes += int64(n)
	}
	return n, 0
}

func (f *vfileOf[Off]) Seek(offset Off, whence int) (int64, experimentalsys.Errno) {
	if f.closed {
		return 0, experimentalsys.EBADF
	}
	if f.n.dir {
		if int64(offset) != 0 || whence != io.SeekStart {
			return 0, experimentalsys.EINVAL
		}
		f.dirents = nil
		return 0, 0
	}
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.off
	case io.SeekEnd:
		base = f.n.size
	default:
		return 0, experimentalsys.EINVAL
	}
	if base+int64(offset) < 0 {
		return 0, experimentalsys.EINVAL
	}
	f.off = base + int64(offset)
	return f.off, 0
}

func (f *vfileOf[Off]) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	if f.closed || !f.n.dir {
		return nil, experimentalsys.EBADF
	}
	if f.dirents == nil {
		names := make([]string, 0, len(f.n.kids))
		for name := range f.n.kids {
			names = append(names, name)
		}
		sort.Strings(names)
		f.dirents = make([]experimentalsys.Dirent, 0, len(names))
		for _, name := range names {
			k := f.n.kids[name]
			var t os.FileMode
			if k.dir {
				t = os.ModeDir
			}
			f.dirents = append(f.dirents, experimentalsys.Dirent{Ino: k.ino, Name: name, Type: t})
		}
	}
	if n <= 0 || n > len(f.dirents) {
		n = len(f.dirents)
	}
	out := f.dirents[:n:n]
	f.dirents = f.dirents[n:]
	return out, 0
}

func (f *vfileOf[Off]) Write(p []byte) (int, experimentalsys.Errno) {
	if f.append {
		f.off = f.n.size
	}
	n, errno := f.Pwrite(p, f.off)
	f.off += int64(n)
	return n, errno
}

func (f *vfileOf[Off]) Pwrite(p []byte, off int64) (int, experimentalsys.Errno) {
	switch {
	case f.closed:
		return 0, experimentalsys.EBADF
	case f.n.dir:
		return 0, experimentalsys.EISDIR
	case !f.write:
		return 0, experimentalsys.EBADF
	case off < 0:
		return 0, experimentalsys.EINVAL
	case len(p) == 0:
		return 0, 0
	}
	if end := off + int64(len(p)); end > f.n.size {
		f.fs.st.chargeBytes(f.fs.kind, end-f.n.size)
		f.n.size = end
	}
	n, err := f.n.file.writeAt(p, off)
	if err != nil {
		return n, experimentalsys.EIO
	}
	return n, 0
}

func (f *vfileOf[Off]) Truncate(size int64) experimentalsys.Errno {
	if f.closed || !f.write {
		return experimentalsys.EBADF
	}
	if f.n.dir {
		return experimentalsys.EISDIR
	}
	return f.fs.truncate(f.n, size)
}

func (f *vfileOf[Off]) Utimens(int64, int64) experimentalsys.Errno { return 0 }

func (f *vfileOf[Off]) Close() experimentalsys.Errno {
	f.closed = true
	return 0
}
