package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("sandbox: runtime closed")

// Config configures a Runtime. Zero fields take the defaults noted.
type Config struct {
	// Workers is how many runs execute at once, each in its own worker
	// process; default runtime.NumCPU(). One more warm spare process is
	// kept so a killed worker is replaced without a stall.
	Workers int
	// WorkerCommand starts a worker process: a binary that calls
	// WorkerMain when IsWorkerProcess reports true. Default
	// [os.Executable(), "sandbox-worker"].
	WorkerCommand []string
	// TempDir holds the per-run /out directories; default os.TempDir().
	TempDir string
	// CacheDir, when set, holds wazero's on-disk compilation cache, one
	// subdirectory per worker slot.
	CacheDir string
	// CgroupMemory is the memory.max of the workers' cgroup (cgroup v2,
	// where the machine lets us create one); default (Workers+1) × 1 GiB.
	CgroupMemory int64
	// Logger receives operational logs; default discards.
	Logger *slog.Logger
}

// Runtime runs WebAssembly (WASI preview1) guests in a pool of sandbox
// worker processes. Workers execute guests at full speed, with no
// termination checks compiled in; the Runtime enforces a run's deadline
// by killing its worker (SIGKILL) and starting a replacement, so every run
// ends at its deadline whatever the guest does, and its CPU is released.
//
// Run is safe for concurrent use; at most Config.Workers runs execute at
// once and the others wait for a worker (or for their ctx).
type Runtime struct {
	cfg  Config
	log  *slog.Logger
	pool *pool
	cg   *cgroup
	base string // this Runtime's directory under TempDir
	seq  atomic.Uint64
	once sync.Once
}

// New starts the worker processes and returns when they are ready.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if len(cfg.WorkerCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("sandbox: find own executable: %w", err)
		}
		cfg.WorkerCommand = []string{exe, "sandbox-worker"}
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if cfg.CgroupMemory <= 0 {
		cfg.CgroupMemory = int64(cfg.Workers+1) << 30
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("sandbox: cache dir: %w", err)
		}
	}
	base, err := os.MkdirTemp(cfg.TempDir, "insitu-sandbox-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: temp dir: %w", err)
	}
	r := &Runtime{cfg: cfg, log: cfg.Logger, base: base}
	r.cg = newCgroup(cfg.Logger, cfg.Workers, cfg.CgroupMemory)
	if r.pool, err = newPool(ctx, &r.cfg, r.log, r.cg); err != nil {
		r.cg.remove()
		os.Remove(base)
		return nil, err
	}
	return r, nil
}

// Workers returns how many runs execute at once (Config.Workers with its
// default applied).
func (r *Runtime) Workers() int { return r.cfg.Workers }

// Close kills every worker (runs in progress end with StatusKilled) and
// removes the Runtime's temp directory when no outputs remain in it. It is
// idempotent.
func (r *Runtime) Close() error {
	r.once.Do(func() {
		r.pool.close()
		r.cg.remove()
		os.Remove(r.base)
	})
	return nil
}

// Run executes spec in a fresh instance on an idle worker and waits for
// it to end. Guest failures (non-zero exit, trap, limits, cancellation)
// are reported in the Result with a Reason; the error is for
// infrastructure failures and invalid specs only. When ctx ends, the run
// is killed and its Result says StatusKilled. Stdin.Reader is copied on
// another goroutine, which may still be inside one Read call when Run
// returns.
func (r *Runtime) Run(ctx context.Context, spec Spec) (*Result, error) {
	lim := spec.Limits.withDefaults()
	if spec.ModuleID == "" {
		return nil, errors.New("sandbox: Spec.ModuleID is empty")
	}
	inputs, err := checkInputs(spec.Inputs)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := r.pool.acquire(ctx)
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return &Result{Status: StatusKilled, ExitCode: -1, Wall: time.Since(start),
			Reason: "cancelled while waiting for a sandbox: " + err.Error(), Cleanup: func() {}}, nil
	}
	res, healthy, err := r.runOn(ctx, p, &spec, inputs, lim, start)
	r.pool.release(p, healthy)
	return res, err
}

// checkInputs cleans the input paths and refuses duplicates and escapes.
func checkInputs(in []Input) ([]string, error) {
	paths := make([]string, len(in))
	seen := make(map[string]bool, len(in))
	for i, x := range in {
		p, ok := cleanInputPath(x.Path)
		if !ok {
			return nil, fmt.Errorf("sandbox: input path %q is not a path below /in", x.Path)
		}
		if x.File != nil && x.Bytes != nil {
			return nil, fmt.Errorf("sandbox: input %q needs exactly one of File or Bytes", x.Path)
		}
		if seen[p] {
			return nil, fmt.Errorf("sandbox: input path %q given twice", x.Path)
		}
		seen[p] = true
		paths[i] = p
	}
	return paths, nil
}

// inlineStdinMax is the largest known-length stdin sent inside the
// request instead of through a pipe.
const inlineStdinMax = 32 << 10

var hostNameRE = regexp.MustCompile(`^f[0-9]+$`)

// runOn runs spec on p. healthy reports whether p can serve another run.
func (r *Runtime) runOn(ctx context.Context, p *proc, spec *Spec, inputs []string, lim Limits, start time.Time) (res *Result, healthy bool, err error) {
	res = &Result{ExitCode: -1, Cleanup: func() {}}
	errResult := func(format string, args ...any) (*Result, bool, error) {
		res.Status, res.Reason, res.Wall = StatusError, fmt.Sprintf(format, args...), time.Since(start)
		return res, true, nil
	}
	q := &p.req
	*q = request{inputs: q.inputs[:0], moduleID: spec.ModuleID, args: spec.Args, env: spec.Env,
		deterministic: spec.Deterministic, seed: spec.Seed, lim: lim,
		discardOut: spec.Stdout == nil, discardErr: spec.Stderr == nil}
	if _, ok := p.modules[spec.ModuleID]; !ok {
		if spec.Wasm == nil {
			return errResult("module %q is not compiled and Spec.Wasm is nil", spec.ModuleID)
		}
		wasm, err := spec.Wasm()
		if err != nil {
			return errResult("loading module %q: %v", spec.ModuleID, err)
		}
		if wasm == nil {
			wasm = []byte{}
		}
		q.wasm = wasm
	}

	var fds []int
	var closeAfterSend []*os.File
	var stdinW *os.File
	switch {
	case spec.Stdin.File != nil:
		q.stdinKind, q.stdinSize = srcBlock, spec.Stdin.Size
		fds = append(fds, int(spec.Stdin.File.Fd()))
	case spec.Stdin.Reader != nil:
		if b, ok := smallReader(spec.Stdin.Reader, p.inline[:0]); ok {
			p.inline = b
			q.stdinKind, q.stdinData = srcInline, b
			break
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, true, fmt.Errorf("sandbox: stdin pipe: %w", err)
		}
		q.stdinKind = srcPipe
		fds = append(fds, int(pr.Fd()))
		closeAfterSend = append(closeAfterSend, pr)
		stdinW = pw
	}
	for i, in := range spec.Inputs {
		w := wireInput{path: inputs[i], size: in.Size}
		if in.File != nil {
			w.kind = srcBlock
			fds = append(fds, int(in.File.Fd()))
		} else {
			w.kind, w.data, w.size = srcInline, in.Bytes, int64(len(in.Bytes))
		}
		q.inputs = append(q.inputs, w)
	}
	outDir := filepath.Join(r.base, "run-"+strconv.FormatUint(r.seq.Add(1), 10))
	q.outDir = outDir
	removeOut := func() { os.RemoveAll(outDir) }

	// Encode; a request too big for one message travels in a memfd.
	p.e.b = append(p.e.b[:0], msgRun)
	q.encode(&p.e)
	msg := p.e.b
	if len(msg) > maxMsg {
		mfd, err := unix.MemfdCreate("insitu-run", unix.MFD_CLOEXEC)
		if err != nil {
			return nil, true, fmt.Errorf("sandbox: memfd: %w", err)
		}
		mf := os.NewFile(uintptr(mfd), "insitu-run")
		if _, err := mf.Write(msg[1:]); err != nil {
			mf.Close()
			return nil, true, fmt.Errorf("sandbox: memfd: %w", err)
		}
		closeAfterSend = append(closeAfterSend, mf)
		fds = append([]int{mfd}, fds...)
		msg = []byte{msgRunFD}
	}
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	_, _, werr := p.conn.WriteMsgUnix(msg, oob, nil)
	for _, f := range closeAfterSend {
		f.Close()
	}
	if len(p.e.b) > 4*maxMsg {
		p.e.b = nil // do not keep a big module's bytes around
	}
	if werr != nil {
		if stdinW != nil {
			stdinW.Close()
		}
		return nil, false, fmt.Errorf("sandbox: send run to worker %d: %w", p.pid, werr)
	}
	if stdinW != nil {
		go func(src io.Reader) {
			io.Copy(stdinW, src)
			stdinW.Close()
		}(spec.Stdin.Reader)
		defer stdinW.Close()
	}

	// The deadline and the caller's ctx both end the run by killing the
	// worker; the read below then sees the socket close. A worker that
	// compiles the module first says so when done, and the deadline
	// restarts then (compiling is bounded by one Timeout too).
	timer := time.AfterFunc(lim.Timeout-time.Since(start), func() { p.kill(killTimeout) })
	stopCtx := context.AfterFunc(ctx, func() { p.kill(killCancel) })

	var wr wireResult
	got := false
	outs := p.outs[:0]
	stdout := capWriter{w: spec.Stdout, limit: lim.StdoutBytes}
	stderr := capWriter{w: spec.Stderr, limit: lim.StderrBytes}
	var protoErr error
read:
	for {
		n, err := p.conn.Read(p.rbuf)
		if err != nil || n == 0 {
			break
		}
		m := p.rbuf[:n]
		switch m[0] {
		case msgStdout, msgStderr:
			cw := &stdout
			if m[0] == msgStderr {
				cw = &stderr
			}
			if werr := cw.write(m[1:]); werr != nil {
				p.kill(killOutput)
			}
		case msgStarted:
			timer.Reset(lim.Timeout)
		case msgOutputs:
			if outs, err = decodeOutputs(m[1:], outs); err != nil {
				protoErr = err
				p.kill(killOutput)
			}
		case msgResult:
			if err := wr.decode(m[1:]); err != nil {
				protoErr = err
				p.kill(killOutput)
				break
			}
			got = true
			break read
		default:
			protoErr = fmt.Errorf("unexpected message %q", m[0])
			p.kill(killOutput)
		}
	}
	timer.Stop()
	stopCtx()
	res.Wall = time.Since(start)
	res.StdoutBytes, res.StderrBytes = stdout.n, stderr.n
	killed := p.killed.Load()

	if !got {
		removeOut()
		res.CPU = p.cpuOfDeath()
		switch killed {
		case killTimeout:
			res.Status, res.Reason = StatusTimeout, fmt.Sprintf("stopped at the time limit of %v", lim.Timeout)
		case killCancel:
			res.Status, res.Reason = StatusKilled, "cancelled: "+context.Cause(ctx).Error()
		case killClose:
			res.Status, res.Reason = StatusKilled, "the sandbox runtime closed"
		case killOutput:
			res.Status = StatusError
			switch {
			case protoErr != nil:
				res.Reason = "sandbox worker protocol error: " + protoErr.Error()
			case stdout.err != nil:
				res.Reason = "writing stdout: " + stdout.err.Error()
			default:
				res.Reason = "writing stderr: " + stderr.err.Error()
			}
		default:
			res.Status, res.Reason = StatusError, fmt.Sprintf("sandbox worker %d died: %v", p.pid, p.cmd.ProcessState)
			r.log.Warn("sandbox worker died during a run", "pid", p.pid, "module", spec.ModuleID)
		}
		return res, false, nil
	}

	p.lastCPU = wr.cumCPU
	if wr.compiledOK {
		p.modules[spec.ModuleID] = struct{}{}
	}
	res.Status, res.Reason = wr.status, wr.reason
	if wr.status == StatusExited {
		res.ExitCode = int(wr.exitCode)
	}
	res.CPU = time.Duration(wr.cpu)
	res.PeakMemory = wr.peak
	res.StdinBytes, res.InputBytes, res.OutputBytes = wr.stdin, wr.input, wr.output
	if stdout.over || stderr.over {
		// The worker enforces the caps; this is the parent's backstop.
		res.Status, res.ExitCode, res.Reason = StatusQuota, -1, "output quota exceeded"
	}
	if res.Status == StatusExited && res.ExitCode == 0 && len(outs) > 0 {
		res.Outputs = make([]Output, 0, len(outs))
		for _, o := range outs {
			if !hostNameRE.MatchString(o.host) {
				removeOut()
				return errResult("sandbox worker named an output %q", o.host)
			}
			res.Outputs = append(res.Outputs, Output{Path: o.path, Size: o.size, HostPath: filepath.Join(outDir, o.host)})
		}
		var once sync.Once
		res.Cleanup = func() { once.Do(removeOut) }
	} else {
		res.Outputs = nil
		removeOut()
	}
	clear(outs)
	p.outs = outs[:0]
	return res, killed == killNone, nil
}

// smallReader reads r into buf when r is an in-memory reader of at most
// inlineStdinMax bytes.
func smallReader(r io.Reader, buf []byte) ([]byte, bool) {
	var n int
	switch x := r.(type) {
	case *bytes.Reader:
		n = x.Len()
	case *strings.Reader:
		n = x.Len()
	case *bytes.Buffer:
		n = x.Len()
	default:
		return buf, false
	}
	if n > inlineStdinMax {
		return buf, false
	}
	if cap(buf) < n {
		buf = make([]byte, 0, inlineStdinMax)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf[:0], false
	}
	return buf, true
}

// capWriter writes the guest's stream to the caller, at most limit bytes.
type capWriter struct {
	w     io.Writer
	limit int64
	n     int64
	over  bool
	err   error
}

func (c *capWriter) write(b []byte) error {
	if c.n+int64(len(b)) > c.limit {
		b = b[:max(0, c.limit-c.n)]
		c.over = true
	}
	c.n += int64(len(b))
	if c.w == nil || c.err != nil || len(b) == 0 {
		return c.err
	}
	_, c.err = c.w.Write(b)
	return c.err
}
