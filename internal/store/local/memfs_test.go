package local

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// memFS is an in-memory FS that models what a power loss keeps. Every file
// has the bytes written to it and the bytes as of its last Sync; every
// directory has its entries and its entries as of its last SyncDir. While
// syncs are ignored (after a simulated crash) neither advances. reset
// discards everything not synced: the state a machine finds after power
// comes back. tick, when set, is called before every operation that
// changes the tree or a file (never with mu held). Safe for concurrent use.
type memFS struct {
	tick func(op, name string)

	mu          sync.Mutex
	root        *memNode
	ignoreSyncs bool
}

type memNode struct {
	dir          bool
	data, synced []byte              // a file's bytes
	kids, durKid map[string]*memNode // a directory's entries
}

func newMemFS() *memFS {
	return &memFS{root: newDirNode()}
}

func newDirNode() *memNode {
	return &memNode{dir: true, kids: map[string]*memNode{}, durKid: map[string]*memNode{}}
}

func (m *memFS) op(op, name string) {
	if m.tick != nil {
		m.tick(op, name)
	}
}

// setIgnoreSyncs freezes (true) or thaws the durable state.
func (m *memFS) setIgnoreSyncs(v bool) {
	m.mu.Lock()
	m.ignoreSyncs = v
	m.mu.Unlock()
}

// reset drops everything not synced.
func (m *memFS) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	var walk func(n *memNode)
	walk = func(n *memNode) {
		if !n.dir {
			n.data = slices.Clone(n.synced)
			return
		}
		n.kids = maps(n.durKid)
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(m.root)
}

func maps(src map[string]*memNode) map[string]*memNode {
	dst := make(map[string]*memNode, len(src))
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

func pathErr(op, name string, err error) error { return &fs.PathError{Op: op, Path: name, Err: err} }

// lookup returns the node at name; m.mu must be held.
func (m *memFS) lookup(op, name string) (*memNode, error) {
	n := m.root
	for _, part := range strings.Split(strings.Trim(path.Clean(name), "/"), "/") {
		if part == "" {
			continue
		}
		if !n.dir {
			return nil, pathErr(op, name, errors.New("not a directory"))
		}
		if n = n.kids[part]; n == nil {
			return nil, pathErr(op, name, fs.ErrNotExist)
		}
	}
	return n, nil
}

// parent returns the directory holding name and name's base; m.mu held.
func (m *memFS) parent(op, name string) (*memNode, string, error) {
	d, err := m.lookup(op, path.Dir(path.Clean(name)))
	if err != nil {
		return nil, "", err
	}
	if !d.dir {
		return nil, "", pathErr(op, name, errors.New("not a directory"))
	}
	return d, path.Base(name), nil
}

func (m *memFS) Create(name string, _ store.CacheMode) (WritableFile, error) {
	m.op("create", name)
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.parent("create", name)
	if err != nil {
		return nil, err
	}
	if d.kids[base] != nil {
		return nil, pathErr("create", name, fs.ErrExist)
	}
	n := &memNode{}
	d.kids[base] = n
	return &memFile{m: m, n: n, name: name}, nil
}

func (m *memFS) Open(name string) (blockfile.ReadFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &memFile{m: m, n: n, name: name}, nil
}

func (m *memFS) Rename(oldname, newname string) error {
	m.op("rename", newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	od, ob, err := m.parent("rename", oldname)
	if err != nil {
		return err
	}
	n := od.kids[ob]
	if n == nil {
		return pathErr("rename", oldname, fs.ErrNotExist)
	}
	nd, nb, err := m.parent("rename", newname)
	if err != nil {
		return err
	}
	delete(od.kids, ob)
	nd.kids[nb] = n
	return nil
}

func (m *memFS) Remove(name string) error {
	m.op("remove", name)
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.parent("remove", name)
	if err != nil {
		return err
	}
	n := d.kids[base]
	if n == nil {
		return pathErr("remove", name, fs.ErrNotExist)
	}
	if n.dir && len(n.kids) > 0 {
		return pathErr("remove", name, errors.New("directory not empty"))
	}
	delete(d.kids, base)
	return nil
}

func (m *memFS) RemoveAll(name string) error {
	m.op("removeall", name)
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.parent("removeall", name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	delete(d.kids, base)
	return nil
}

func (m *memFS) Mkdir(name string) error {
	m.op("mkdir", name)
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.parent("mkdir", name)
	if err != nil {
		return err
	}
	if d.kids[base] != nil {
		return pathErr("mkdir", name, fs.ErrExist)
	}
	d.kids[base] = newDirNode()
	return nil
}

func (m *memFS) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return memInfo{name: path.Base(name), n: n, size: int64(len(n.data))}, nil
}

func (m *memFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.lookup("readdir", dir)
	if err != nil {
		return nil, err
	}
	var out []fs.DirEntry
	for name, n := range d.kids {
		out = append(out, fs.FileInfoToDirEntry(memInfo{name: name, n: n, size: int64(len(n.data))}))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (m *memFS) SyncDir(dir string) error {
	m.op("syncdir", dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.lookup("syncdir", dir)
	if err != nil {
		return err
	}
	if !m.ignoreSyncs {
		d.durKid = maps(d.kids)
	}
	return nil
}

// memFile is an open file of a memFS, for writing (appends) or reading.
type memFile struct {
	m    *memFS
	n    *memNode
	name string
}

func (f *memFile) Write(p []byte) (int, error) {
	f.m.op("write", f.name)
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	f.n.data = append(f.n.data, p...)
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.m.op("sync", f.name)
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if !f.m.ignoreSyncs {
		f.n.synced = slices.Clone(f.n.data)
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	return memInfo{name: path.Base(f.name), n: f.n, size: int64(len(f.n.data))}, nil
}

func (f *memFile) Close() error { return nil }

// memInfo describes a memNode; size is taken under the lock.
type memInfo struct {
	name string
	n    *memNode
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) IsDir() bool        { return i.n.dir }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) Sys() any           { return nil }

func (i memInfo) Mode() fs.FileMode {
	if i.n.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

// TestMemFSPowerLoss pins the model TestPowerLoss relies on: a file's
// bytes survive only up to its last Sync, a directory entry (creation,
// rename, removal) only once its directory is synced, and nothing after
// syncs are ignored.
func TestMemFSPowerLoss(t *testing.T) {
	m := newMemFS()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Mkdir("/d"))
	must(m.SyncDir("/"))
	write := func(name, data string, sync bool) {
		f, err := m.Create(name, store.CacheWrite)
		must(err)
		_, err = f.Write([]byte(data))
		must(err)
		if sync {
			must(f.Sync())
		}
		_, err = f.Write([]byte("+unsynced"))
		must(err)
	}
	write("/d/synced", "a", true)
	write("/d/nosync", "b", false)
	must(m.SyncDir("/d"))
	write("/d/late", "d", true) // its entry is never synced
	must(m.Rename("/d/synced", "/d/renamed"))
	must(m.Remove("/d/nosync"))
	m.setIgnoreSyncs(true)
	must(m.SyncDir("/d"))
	m.reset()
	// The rename and the removal were not synced either.
	want := map[string]string{"synced": "a", "nosync": ""}
	ents, err := m.ReadDir("/d")
	must(err)
	if len(ents) != len(want) {
		t.Fatalf("after the crash /d holds %d entries, want %d", len(ents), len(want))
	}
	for name, data := range want {
		f, err := m.Open("/d/" + name)
		must(err)
		st, _ := f.Stat()
		buf := make([]byte, st.Size())
		f.ReadAt(buf, 0)
		if string(buf) != data {
			t.Errorf("%s after the crash: %q, want %q", name, buf, data)
		}
	}
}
