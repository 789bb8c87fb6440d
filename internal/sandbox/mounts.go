package sandbox

import (
	"io/fs"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// mountSlot is what a worker's module config mounts at /in, /out or /tmp:
// it forwards every call to the vfs of the instance bound to it. The
// config, with the three slots and the stdio slots, is built once per
// worker (worker.cfg) instead of once per instance; a run points the slots
// at its own instance's trees (worker.mount) before any of its guest code
// runs, and they stay there until the next run is bound, after that
// instance was closed. Only the worker's goroutine touches a slot.
//
// wazero opens a preopened directory lazily, on the guest's first use of
// it, so making an instance ahead of its run reaches no slot.
type mountSlot struct{ v *vfs }

var _ experimentalsys.FS = (*mountSlot)(nil)

func (m *mountSlot) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	return m.v.OpenFile(p, flag, perm)
}
func (m *mountSlot) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) { return m.v.Lstat(p) }
func (m *mountSlot) Stat(p string) (sys.Stat_t, experimentalsys.Errno)  { return m.v.Stat(p) }
func (m *mountSlot) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	return m.v.Mkdir(p, perm)
}
func (m *mountSlot) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	return m.v.Chmod(p, perm)
}
func (m *mountSlot) Rename(from, to string) experimentalsys.Errno      { return m.v.Rename(from, to) }
func (m *mountSlot) Rmdir(p string) experimentalsys.Errno              { return m.v.Rmdir(p) }
func (m *mountSlot) Unlink(p string) experimentalsys.Errno             { return m.v.Unlink(p) }
func (m *mountSlot) Link(from, to string) experimentalsys.Errno        { return m.v.Link(from, to) }
func (m *mountSlot) Symlink(from, to string) experimentalsys.Errno     { return m.v.Symlink(from, to) }
func (m *mountSlot) Readlink(p string) (string, experimentalsys.Errno) { return m.v.Readlink(p) }
func (m *mountSlot) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	return m.v.Utimens(p, atim, mtim)
}

// mount points the worker's three mount slots at inst's trees.
func (w *worker) mount(inst *instance) {
	w.mounts[0].v, w.mounts[1].v, w.mounts[2].v = inst.in, inst.out, inst.tmp
}
