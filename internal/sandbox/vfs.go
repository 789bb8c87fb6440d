package sandbox

import (
	"io/fs"
	"sort"
	"strings"
	"unicode/utf8"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// The guest's filesystem is insitu's own: three trees mounted at /in,
// /out and /tmp, each a vfs implementing wazero's experimental sys.FS.
// Nothing in them is a host path: /in serves the run's inputs (bytes in
// worker memory or verified reads of object data files), /tmp lives in
// worker memory, and /out files are host files the worker created and
// named itself (f1, f2, ... in the run's out dir), so no guest-chosen name
// ever reaches the host filesystem. There is no root mount; absolute paths
// outside the three preopens resolve to nothing.

// Path limits, checked on every lookup.
const (
	maxPathLen = 1024
	maxNameLen = 255
)

type fsKind uint8

const (
	fsIn  fsKind = iota // read-only inputs
	fsOut               // create and write only
	fsTmp               // in memory, read-write
)

// vfs is one mount. All methods run on the guest's goroutine; a vfs is not
// safe for concurrent use (a wasm instance is single-threaded).
type vfs struct {
	experimentalsys.UnimplementedFS
	kind fsKind
	root *vnode
	st   *runState
}

// vnode is a file or directory.
type vnode struct {
	name string
	dir  bool
	kids map[string]*vnode
	ino  uint64
	size int64
	file fileData
}

func (st *runState) newNode(name string, dir bool) *vnode {
	st.inodes++
	n := &vnode{name: name, dir: dir, ino: st.inodes}
	if dir {
		n.kids = map[string]*vnode{}
	}
	return n
}

func newVFS(kind fsKind, st *runState) *vfs {
	return &vfs{kind: kind, root: st.newNode("", true), st: st}
}

// splitPath validates a mount-relative path (wazero has already cleaned it
// and refused ".." and absolute paths; this is the second wall) and
// returns its components; "." is the root.
func splitPath(p string) ([]string, bool, experimentalsys.Errno) {
	trailing := strings.HasSuffix(p, "/")
	p = strings.TrimRight(p, "/")
	if len(p) > maxPathLen {
		return nil, false, experimentalsys.ENAMETOOLONG
	}
	if strings.IndexByte(p, 0) >= 0 || !utf8.ValidString(p) {
		return nil, false, experimentalsys.EINVAL
	}
	if p == "" || p == "." {
		return nil, true, 0
	}
	parts := strings.Split(p, "/")
	for _, c := range parts {
		switch {
		case c == "" || c == "." || c == "..":
			return nil, false, experimentalsys.EPERM
		case len(c) > maxNameLen:
			return nil, false, experimentalsys.ENAMETOOLONG
		}
	}
	return parts, trailing, 0
}

// lookup returns the parent directory of p, p's last name and p's node
// (nil when absent but the parent exists).
func (v *vfs) lookup(p string) (parent *vnode, name string, n *vnode, errno experimentalsys.Errno) {
	parts, trailing, errno := splitPath(p)
	if errno != 0 {
		return nil, "", nil, errno
	}
	if len(parts) == 0 {
		return nil, "", v.root, 0
	}
	dir := v.root
	for _, c := range parts[:len(parts)-1] {
		next := dir.kids[c]
		if next == nil {
			return nil, "", nil, experimentalsys.ENOENT
		}
		if !next.dir {
			return nil, "", nil, experimentalsys.ENOTDIR
		}
		dir = next
	}
	name = parts[len(parts)-1]
	n = dir.kids[name]
	if n != nil && trailing && !n.dir {
		return nil, "", nil, experimentalsys.ENOTDIR
	}
	return dir, name, n, 0
}

func (v *vfs) stat(n *vnode) sys.Stat_t {
	mode := fs.FileMode(0o644)
	switch {
	case n.dir && v.kind == fsIn:
		mode = fs.ModeDir | 0o555
	case n.dir:
		mode = fs.ModeDir | 0o755
	case v.kind == fsIn:
		mode = 0o444
	case v.kind == fsOut:
		mode = 0o200
	}
	return sys.Stat_t{Dev: uint64(v.kind) + 1, Ino: n.ino, Mode: mode, Nlink: 1, Size: n.size}
}

// OpenFile implements experimentalsys.FS.
func (v *vfs) OpenFile(p string, flag experimentalsys.Oflag, _ fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	parent, name, n, errno := v.lookup(p)
	if errno != 0 {
		return nil, errno
	}
	acc := flag & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY)
	write := acc != experimentalsys.O_RDONLY
	read := acc != experimentalsys.O_WRONLY
	if n == nil {
		if flag&experimentalsys.O_CREAT == 0 {
			return nil, experimentalsys.ENOENT
		}
		if flag&experimentalsys.O_DIRECTORY != 0 {
			return nil, experimentalsys.EINVAL
		}
		if v.kind == fsIn {
			return nil, experimentalsys.EROFS
		}
		var err experimentalsys.Errno
		if n, err = v.create(parent, name); err != 0 {
			return nil, err
		}
	} else {
		if flag&experimentalsys.O_CREAT != 0 && flag&experimentalsys.O_EXCL != 0 {
			return nil, experimentalsys.EEXIST
		}
		if n.dir {
			if write {
				return nil, experimentalsys.EISDIR
			}
			return &vfile{fs: v, n: n}, 0
		}
		if flag&experimentalsys.O_DIRECTORY != 0 {
			return nil, experimentalsys.ENOTDIR
		}
		switch v.kind {
		case fsIn:
			if write || flag&experimentalsys.O_TRUNC != 0 {
				return nil, experimentalsys.EROFS
			}
		case fsOut:
			// Create and write only: /out is not a way to read anything.
			if read {
				return nil, experimentalsys.EACCES
			}
		}
		if write && flag&experimentalsys.O_TRUNC != 0 {
			if errno := v.truncate(n, 0); errno != 0 {
				return nil, errno
			}
		}
	}
	if v.kind == fsOut {
		read = false
	}
	return &vfile{fs: v, n: n, read: read, write: write, append: flag&experimentalsys.O_APPEND != 0}, 0
}

// create adds a new file to parent, charging the file quota.
func (v *vfs) create(parent *vnode, name string) (*vnode, experimentalsys.Errno) {
	n := v.st.newNode(name, false)
	switch v.kind {
	case fsTmp:
		v.st.chargeFiles(fsTmp)
		n.file = &memData{}
	case fsOut:
		v.st.chargeFiles(fsOut)
		d, errno := v.st.newOutFile()
		if errno != 0 {
			return nil, errno
		}
		n.file = d
	}
	parent.kids[name] = n
	return n, 0
}

// truncate sets n's size, charging or refunding the byte quota.
func (v *vfs) truncate(n *vnode, size int64) experimentalsys.Errno {
	if size < 0 {
		return experimentalsys.EINVAL
	}
	v.st.chargeBytes(v.kind, size-n.size)
	if errno := n.file.truncate(size); errno != 0 {
		return errno
	}
	n.size = size
	return 0
}

// Stat implements experimentalsys.FS.
func (v *vfs) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	_, _, n, errno := v.lookup(p)
	if errno != 0 {
		return sys.Stat_t{}, errno
	}
	if n == nil {
		return sys.Stat_t{}, experimentalsys.ENOENT
	}
	return v.stat(n), 0
}

// Lstat implements experimentalsys.FS; there are no symlinks.
func (v *vfs) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) { return v.Stat(p) }

// Mkdir implements experimentalsys.FS; a directory counts as a file.
func (v *vfs) Mkdir(p string, _ fs.FileMode) experimentalsys.Errno {
	if v.kind == fsIn {
		return experimentalsys.EROFS
	}
	parent, name, n, errno := v.lookup(p)
	if errno != 0 {
		return errno
	}
	if n != nil || parent == nil {
		return experimentalsys.EEXIST
	}
	v.st.chargeFiles(v.kind)
	parent.kids[name] = v.st.newNode(name, true)
	return 0
}

// Unlink implements experimentalsys.FS.
func (v *vfs) Unlink(p string) experimentalsys.Errno {
	if v.kind == fsIn {
		return experimentalsys.EROFS
	}
	parent, name, n, errno := v.lookup(p)
	if errno != 0 {
		return errno
	}
	if n == nil {
		return experimentalsys.ENOENT
	}
	if n.dir {
		return experimentalsys.EISDIR
	}
	v.st.chargeBytes(v.kind, -n.size)
	v.st.refundFile(v.kind)
	n.file.remove()
	delete(parent.kids, name)
	return 0
}

// Rmdir implements experimentalsys.FS.
func (v *vfs) Rmdir(p string) experimentalsys.Errno {
	if v.kind == fsIn {
		return experimentalsys.EROFS
	}
	parent, name, n, errno := v.lookup(p)
	if errno != 0 {
		return errno
	}
	switch {
	case n == nil:
		return experimentalsys.ENOENT
	case parent == nil:
		return experimentalsys.EPERM
	case !n.dir:
		return experimentalsys.ENOTDIR
	case len(n.kids) > 0:
		return experimentalsys.ENOTEMPTY
	}
	v.st.refundFile(v.kind)
	delete(parent.kids, name)
	return 0
}

// Rename implements experimentalsys.FS within one mount.
func (v *vfs) Rename(from, to string) experimentalsys.Errno {
	if v.kind == fsIn {
		return experimentalsys.EROFS
	}
	fp, fname, fn, errno := v.lookup(from)
	if errno != 0 {
		return errno
	}
	if fn == nil {
		return experimentalsys.ENOENT
	}
	tp, tname, tn, errno := v.lookup(to)
	if errno != 0 {
		return errno
	}
	if fp == nil || tp == nil {
		return experimentalsys.EPERM
	}
	if fn == tn {
		return 0
	}
	if fn.dir {
		// Refuse moving a directory into itself.
		for d := range v.ancestors(tp) {
			if d == fn {
				return experimentalsys.EINVAL
			}
		}
	}
	if tn != nil {
		if tn.dir != fn.dir {
			if tn.dir {
				return experimentalsys.EISDIR
			}
			return experimentalsys.ENOTDIR
		}
		if tn.dir && len(tn.kids) > 0 {
			return experimentalsys.ENOTEMPTY
		}
		if !tn.dir {
			v.st.chargeBytes(v.kind, -tn.size)
			tn.file.remove()
		}
		v.st.refundFile(v.kind)
	}
	delete(fp.kids, fname)
	fn.name = tname
	tp.kids[tname] = fn
	return 0
}

// ancestors yields every directory from the root down to d.
func (v *vfs) ancestors(d *vnode) func(func(*vnode) bool) {
	return func(yield func(*vnode) bool) {
		var walk func(n *vnode) bool // true when d is found below n
		var path []*vnode
		walk = func(n *vnode) bool {
			path = append(path, n)
			if n == d {
				return true
			}
			for _, k := range n.kids {
				if k.dir && walk(k) {
					return true
				}
			}
			path = path[:len(path)-1]
			return false
		}
		walk(v.root)
		for _, n := range path {
			if !yield(n) {
				return
			}
		}
	}
}

// Utimens implements experimentalsys.FS; times are not kept.
func (v *vfs) Utimens(p string, _, _ int64) experimentalsys.Errno {
	_, errno := v.Stat(p)
	return errno
}

// Chmod, Link, Symlink and Readlink: none of that exists here.
func (v *vfs) Chmod(string, fs.FileMode) experimentalsys.Errno { return experimentalsys.EPERM }
func (v *vfs) Link(string, string) experimentalsys.Errno       { return experimentalsys.EPERM }
func (v *vfs) Symlink(string, string) experimentalsys.Errno    { return experimentalsys.EPERM }
func (v *vfs) Readlink(p string) (string, experimentalsys.Errno) {
	if _, errno := v.Stat(p); errno != 0 {
		return "", errno
	}
	return "", experimentalsys.EINVAL
}

// walkFiles calls fn for every file below the root, in path order.
func (v *vfs) walkFiles(fn func(path string, n *vnode)) {
	var walk func(prefix string, d *vnode)
	walk = func(prefix string, d *vnode) {
		names := make([]string, 0, len(d.kids))
		for name := range d.kids {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			k := d.kids[name]
			if k.dir {
				walk(prefix+name+"/", k)
			} else {
				fn(prefix+name, k)
			}
		}
	}
	walk("", v.root)
}

var (
	_ experimentalsys.FS   = (*vfs)(nil)
	_ experimentalsys.File = (*vfile)(nil)
)
