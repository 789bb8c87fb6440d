package sandbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// instance is one module instance and the per-run world it was made
// with: its memory allocator, its accounting and its three mounts. The
// run binds limits, inputs, stdio, args and env to it before _start; an
// instance serves exactly one run and is closed after it.
//
// An instance made ahead of time (worker.ahead) is made while the worker
// is idle, right after it reported the previous run, for the module that
// run used; the next run takes it when it is for the same module and not
// deterministic, and otherwise it is closed unused. Only modules without a
// start section are made ahead: instantiating runs no guest code then.
type instance struct {
	moduleID     string
	mod          api.Module
	entry        api.Function // _start, looked up by make; nil when not exported
	alloc        *memAllocator
	st           *runState
	in, out, tmp *vfs
}

// stdinSlot is the guest's stdin: the run plugs its reader in after the
// instance was made.
type stdinSlot struct{ r io.Reader }

func (s *stdinSlot) Read(p []byte) (int, error) {
	if s.r == nil {
		return 0, io.EOF
	}
	return s.r.Read(p)
}

// newInstance is the world of a new instance of module id, not made yet.
func (w *worker) newInstance(id string) *instance {
	st := &runState{}
	return &instance{moduleID: id, st: st, alloc: &memAllocator{limit: maxWasmMemory, spare: &w.spare},
		in: newVFS(fsIn, st), out: newVFS(fsOut, st), tmp: newVFS(fsTmp, st)}
}

// make instantiates mod into inst without running it: no start function
// is called (a start section, if any, does run). deterministic and seed
// pick the clocks and randomness; the rest is bound per run.
func (w *worker) make(inst *instance, mod wazero.CompiledModule, deterministic bool, seed int64) error {
	cfg := w.cfg
	if deterministic {
		cfg = w.moduleConfig(true, seed) // its own clock state
	}
	ctx := experimental.WithMemoryAllocator(w.ctx, inst.alloc)
	m, err := w.rt.InstantiateModule(ctx, mod, cfg)
	if err != nil {
		return err
	}
	// Looking the export up makes its call engine (a 10 KiB stack and its
	// state), about 1 µs of the ~10 µs a short run spends in the worker
	// (issue 13), so an instance made ahead does it ahead too.
	inst.mod, inst.entry = m, m.ExportedFunction("_start")
	return nil
}

// takeAhead returns the instance made ahead when it fits req (same
// module, not deterministic), and nil otherwise, closing one that does
// not fit: it is never kept for a later run.
func (w *worker) takeAhead(req *request) *instance {
	a := w.ahead
	w.ahead = nil
	if a == nil {
		return nil
	}
	if a.moduleID == req.moduleID && !req.deterministic {
		return a
	}
	a.mod.Close(w.ctx)
	w.scrub() // its memory came back as the spare
	return nil
}

// prepareAhead makes the next instance of module id, which just ran,
// while the worker is idle. A failure is ignored: the next run makes its
// own instance.
func (w *worker) prepareAhead(id string) {
	m, ok := w.modules[id]
	if !ok || m.hasStart || w.ahead != nil {
		return
	}
	inst := w.newInstance(id)
	if w.make(inst, m.mod, false, 0) == nil {
		w.ahead = inst
	}
}

// bind readies inst for one run: its limits and out directory.
func (inst *instance) bind(lim Limits, outDir string) {
	inst.st.lim, inst.st.outDir = lim, outDir
	inst.alloc.setLimit(uint64(lim.Memory))
}

// start calls the guest's _start and ends the instance. A guest exiting
// with status 0 returns nil; other errors are as InstantiateModule would
// return them.
func (inst *instance) start(ctx context.Context) error {
	defer inst.mod.Close(ctx)
	if inst.entry == nil {
		return nil
	}
	_, err := inst.entry.Call(ctx)
	if err == nil {
		return nil
	}
	if se, ok := err.(*sys.ExitError); ok {
		if se.ExitCode() == 0 {
			return nil
		}
		return err
	}
	return fmt.Errorf("module[] function[_start] failed: %w", err)
}

// hasStartSection reports whether the wasm binary declares a start
// function (section 8), which runs guest code at instantiation; input
// that does not parse counts as having one.
func hasStartSection(wasm []byte) bool {
	if len(wasm) < 8 {
		return true
	}
	b := wasm[8:]
	for len(b) > 0 {
		id := b[0]
		size, n := binary.Uvarint(b[1:])
		if n <= 0 || n > 5 || size > uint64(len(b)-1-n) {
			return true
		}
		if id == 8 {
			return true
		}
		b = b[1+n+int(size):]
	}
	return false
}
