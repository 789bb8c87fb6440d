package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// call is one run on one worker, from request to Result: prepare builds
// the request, send hands it to the worker, await reads until the result
// (call_await.go) and interpret turns it into a Result (call_result.go).
// A call belongs to the goroutine of its Run; the run's deadline and ctx
// callbacks reach the worker only through proc.killRun.
type call struct {
	r      *Runtime
	ctx    context.Context
	p      *proc
	spec   *Spec
	inputs []string // cleaned /in paths, one per spec.Inputs
	lim    Limits
	start  time.Time // when the worker was assigned: Wall and Timeout count from here
	outDir string

	fds     []int      // passed with the request (SCM_RIGHTS)
	closers []*os.File // our ends of passed files, closed once sent
	stdinW  *os.File   // write end of the stdin pipe, or nil

	wr       wireResult
	got      bool // wr holds the worker's result
	outs     []wireOutput
	stdout   capWriter
	stderr   capWriter
	protoErr error
	killed   int32 // why the worker was killed, read after the kill window closed
	// grace is the timer that kills the run once its caller has been gone
	// for Config.CancelGrace (set by the ctx callback, cancelled).
	grace atomic.Pointer[deadline]
}

// run executes the call. healthy reports whether the worker can serve
// another run.
func (c *call) run() (res *Result, healthy bool, err error) {
	defer c.closeStdin()
	if res, err := c.prepare(); res != nil || err != nil {
		return res, true, err
	}
	if err := c.send(); err != nil {
		return nil, false, err
	}
	c.startStdin()
	c.await()
	return c.interpret()
}

// prepare fills c.p.req and the files to pass. A Result comes back for a
// module that cannot be loaded (the worker stays healthy).
func (c *call) prepare() (*Result, error) {
	spec, p := c.spec, c.p
	q := &p.req
	*q = request{inputs: q.inputs[:0], moduleID: spec.ModuleID, args: spec.Args, env: spec.Env,
		deterministic: spec.Deterministic, seed: spec.Seed, lim: c.lim,
		discardOut: spec.Stdout == nil, discardErr: spec.Stderr == nil}
	if _, ok := p.modules[spec.ModuleID]; !ok {
		if spec.Wasm == nil {
			return c.errResult("module %q is not compiled and Spec.Wasm is nil", spec.ModuleID), nil
		}
		wasm, err := spec.Wasm()
		if err != nil {
			return c.errResult("loading module %q: %v", spec.ModuleID, err), nil
		}
		if wasm == nil {
			wasm = []byte{}
		}
		q.wasm = wasm
	}
	if err := c.prepareStdin(); err != nil {
		return nil, err
	}
	for i, in := range spec.Inputs {
		w := wireInput{path: c.inputs[i], size: in.Size}
		if in.File != nil {
			w.kind = srcBlock
			c.fds = append(c.fds, int(in.File.Fd()))
		} else {
			w.kind, w.data, w.size = srcInline, in.Bytes, int64(len(in.Bytes))
		}
		q.inputs = append(q.inputs, w)
	}
	c.outDir = filepath.Join(c.r.base, "run-"+strconv.FormatUint(c.r.seq.Add(1), 10))
	q.outDir = c.outDir
	return nil, nil
}

// prepareStdin picks how stdin travels: an object file by fd, a small
// in-memory reader inside the request, anything else through a pipe.
func (c *call) prepareStdin() error {
	spec, p, q := c.spec, c.p, &c.p.req
	switch {
	case spec.Stdin.File != nil:
		q.stdinKind, q.stdinSize = srcBlock, spec.Stdin.Size
		c.fds = append(c.fds, int(spec.Stdin.File.Fd()))
	case spec.Stdin.Reader != nil:
		if b, ok := smallReader(spec.Stdin.Reader, p.inline[:0]); ok {
			p.inline = b
			q.stdinKind, q.stdinData = srcInline, b
			return nil
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("sandbox: stdin pipe: %w", err)
		}
		q.stdinKind = srcPipe
		c.fds = append(c.fds, int(pr.Fd()))
		c.closers = append(c.closers, pr)
		c.stdinW = pw
	}
	return nil
}

// send encodes the request and writes it to the worker with its files; a
// request too big for one message travels in a memfd. Our ends of the
// passed files are closed on every path.
func (c *call) send() error {
	p := c.p
	defer func() {
		for _, f := range c.closers {
			f.Close()
		}
		if len(p.e.b) > 4*maxMsg {
			p.e.b = nil // do not keep a big module's bytes around
		}
	}()
	p.e.b = append(p.e.b[:0], msgRun)
	p.req.encode(&p.e)
	msg := p.e.b
	if len(msg) > maxMsg {
		mfd, err := unix.MemfdCreate("insitu-run", unix.MFD_CLOEXEC)
		if err != nil {
			return fmt.Errorf("sandbox: memfd: %w", err)
		}
		mf := os.NewFile(uintptr(mfd), "insitu-run")
		c.closers = append(c.closers, mf)
		if _, err := mf.Write(msg[1:]); err != nil {
			return fmt.Errorf("sandbox: memfd: %w", err)
		}
		c.fds = append([]int{mfd}, c.fds...)
		msg = []byte{msgRunFD}
	}
	var oob []byte
	if len(c.fds) > 0 {
		oob = syscall.UnixRights(c.fds...)
	}
	if err := p.sendMsg(msg, oob); err != nil {
		return fmt.Errorf("sandbox: send run to worker %d: %w", p.pid, err)
	}
	return nil
}

// startStdin copies spec.Stdin.Reader into the pipe on a goroutine the
// Runtime counts (Close waits for it). When the run ends, closeStdin
// closes the pipe, so the copy stops at its next write; it can only
// outlive the run inside the caller's Read.
func (c *call) startStdin() {
	if c.stdinW == nil {
		return
	}
	t := c.r.tasks
	t.add()
	go func(w *os.File, src io.Reader) {
		defer t.done()
		io.Copy(w, src)
		w.Close()
	}(c.stdinW, c.spec.Stdin.Reader)
}

func (c *call) closeStdin() {
	if c.stdinW != nil {
		c.stdinW.Close()
	}
}

// errResult is a StatusError Result for a run the worker never started.
func (c *call) errResult(format string, args ...any) *Result {
	return &Result{Status: StatusError, ExitCode: -1, Reason: fmt.Sprintf(format, args...),
		Wall: time.Since(c.start), Cleanup: func() {}}
}
