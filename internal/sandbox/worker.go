package sandbox

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/sys/unix"
)

// Environment of a worker process, set by the parent when it spawns one.
const (
	workerEnv       = "INSITU_SANDBOX_WORKER"       // "1" in a worker
	workerCacheEnv  = "INSITU_SANDBOX_WORKER_CACHE" // compilation cache dir, may be empty
	workerFD        = 3                             // the socketpair end (ExtraFiles[0])
	maxModules      = 64                            // compiled modules a worker keeps
	workerGCPercent = 400                           // a worker's GOGC (newWorker)
)

// workerEnviron is the whole environment of a worker process: the two
// worker variables and, from parent (os.Environ()), only the variables
// that tune the Go runtime of the worker itself. Nothing else crosses:
// the parent's environment may hold secrets (root keys, cloud
// credentials) and a worker runs untrusted guests.
func workerEnviron(parent []string, cacheDir string) []string {
	env := []string{workerEnv + "=1", workerCacheEnv + "=" + cacheDir}
	for _, kv := range parent {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GODEBUG", "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GOTRACEBACK", "GORACE", "GOCOVERDIR":
			env = append(env, kv)
		}
	}
	return env
}

// IsWorkerProcess reports whether this process was started by a Runtime
// as a sandbox worker. A binary that serves as its own worker (insitu, or
// a test binary) checks it first thing and then calls WorkerMain:
//
//	if sandbox.IsWorkerProcess() { os.Exit(sandbox.WorkerMain()) }
func IsWorkerProcess() bool { return os.Getenv(workerEnv) == "1" }

// WorkerMain serves runs for the parent Runtime on fd 3 until the parent
// closes it, and returns the process exit code. It runs guests at full
// speed, without wazero's context-done checks: the parent stops a run by
// killing the whole process. It is meant for the hidden
// `insitu sandbox-worker` command and test binaries (see IsWorkerProcess).
func WorkerMain() int { return WorkerMainWith(nil) }

// WorkerMainWith is WorkerMain for a binary that also serves direct
// connections (Runtime.StartDirect): direct builds their handler.
func WorkerMainWith(direct DirectHandler) int {
	signal.Ignore(os.Interrupt) // the parent decides when a worker ends
	w, err := newWorker(context.Background(), workerFD, os.Getenv(workerCacheEnv))
	if err != nil {
		fmt.Fprintf(os.Stderr, "insitu sandbox-worker: %v\n", err)
		return 2
	}
	w.directHandler = direct
	if err := w.serve(); err != nil {
		fmt.Fprintf(os.Stderr, "insitu sandbox-worker: %v\n", err)
		return 1
	}
	return 0
}

// worker is the state of one worker process: one wazero runtime with WASI,
// the compiled modules by ModuleID, and reusable message buffers.
type worker struct {
	ctx       context.Context
	fd        int
	rt        wazero.Runtime
	modules   map[string]compiled
	ahead     *instance // made ahead for the next run, or nil (ahead.go)
	stdin     stdinSlot
	args, env []string // the current run's, read by args_get/environ_get
	rbuf      []byte
	oob       []byte
	e         enc
	req       request
	spare     []byte              // linear memory kept for the next run; scrub zeroes it
	cpuMark   int64               // cumulative CPU ns at the last report (or the hello)
	mounts    [3]mountSlot        // /in, /out, /tmp of the bound instance (mounts.go)
	cfg       wazero.ModuleConfig // non-deterministic runs' config, built once
	stdout    streamOut
	stderr    streamOut
	// directHandler serves direct connections (direct_worker.go); nil in
	// a binary without them.
	directHandler DirectHandler
}

func newWorker(ctx context.Context, fd int, cacheDir string) (*worker, error) {
	// The Go heap here holds the worker's own small things and guest
	// memories of at most spareMax (larger ones are mapped, limits.go), so
	// it may grow to five times what is live before a collection: at a
	// few tens of KiB of garbage per run, GC was a quarter of a service
	// request's worker CPU at GOGC 100 (issue 13, BENCHMARKS.md). A
	// GOMEMLIMIT in the environment still caps the slack.
	debug.SetGCPercent(workerGCPercent)
	cfg := wazero.NewRuntimeConfig() // no WithCloseOnContextDone: full speed
	if cacheDir != "" {
		if c, err := wazero.NewCompilationCacheWithDir(cacheDir); err == nil {
			cfg = cfg.WithCompilationCache(c)
		}
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	w := &worker{
		ctx: ctx, fd: fd, rt: rt, modules: map[string]compiled{},
		rbuf: make([]byte, maxMsg), oob: make([]byte, unix.CmsgSpace(4*64)),
	}
	if err := w.instantiateWASI(ctx); err != nil {
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	w.cfg = w.moduleConfig(false, 0)
	return w, nil
}

// compiled is a module the worker holds.
type compiled struct {
	mod      wazero.CompiledModule
	hasStart bool // a start section: never instantiated ahead
}

func (w *worker) send(b []byte) error {
	for {
		_, err := unix.Write(w.fd, b)
		if err == unix.EINTR {
			continue
		}
		return err
	}
}

func (w *worker) serve() error {
	if err := initRecv(w.fd); err != nil {
		return err
	}
	w.cpuMark = cpuNanos()
	w.e.b = append(w.e.b[:0], msgHello)
	w.e.i(w.cpuMark)
	if err := w.send(w.e.b); err != nil {
		return err
	}
	for {
		n, oobn, err := w.recv()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // the parent closed its end
		}
		fds, err := parseRights(w.oob[:oobn])
		if err != nil {
			return err
		}
		msg := w.rbuf[:n]
		var body []byte
		switch msg[0] {
		case msgRun:
			body = msg[1:]
		case msgDirect:
			return w.serveDirect(fds)
		case msgRunFD:
			if len(fds) == 0 {
				return errors.New("run request without its fd")
			}
			body, err = io.ReadAll(io.NewSectionReader(fds[0], 0, 1<<40))
			fds[0].Close()
			fds = fds[1:]
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected message %q", msg[0])
		}
		if err := w.req.decode(body); err != nil {
			return err
		}
		if w.req.nfds() != len(fds) {
			return fmt.Errorf("run request with %d fds, want %d", len(fds), w.req.nfds())
		}
		res, outs := w.run(&w.req, fds)
		for _, f := range fds {
			f.Close()
		}
		if err := w.report(&res, outs); err != nil {
			return err
		}
		w.scrub()
		w.prepareAhead(w.req.moduleID)
	}
}

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "passed"))
		}
	}
	return files, nil
}

// report sends the outputs in batches, then the result.
func (w *worker) report(res *wireResult, outs []wireOutput) error {
	for len(outs) > 0 {
		n, size := 0, 16
		for n < len(outs) && size+len(outs[n].path)+len(outs[n].host)+32 < maxMsg {
			size += len(outs[n].path) + len(outs[n].host) + 32
			n++
		}
		w.e.b = append(w.e.b[:0], msgOutputs)
		encodeOutputs(&w.e, outs[:n])
		if err := w.send(w.e.b); err != nil {
			return err
		}
		outs = outs[n:]
	}
	// The streams' tails ride in the result when they fit; otherwise they
	// go first, in their own messages.
	tailOut, tailErr := w.stdout.tail(), w.stderr.tail()
	if len(tailOut)+len(tailErr)+len(res.reason)+256 > maxMsg {
		if err := w.stdout.flush(); err != nil {
			return err
		}
		if err := w.stderr.flush(); err != nil {
			return err
		}
		tailOut, tailErr = nil, nil
	}
	w.e.b = append(w.e.b[:0], msgResult)
	res.encode(&w.e)
	w.e.bs(tailOut)
	w.e.bs(tailErr)
	w.stdout.buf, w.stderr.buf = w.stdout.buf[:0], w.stderr.buf[:0]
	return w.send(w.e.b)
}

// scrub zeroes the linear memory the last run left as the spare. It runs
// after the result went out, off the run's critical path, and before the
// next request is read: no byte of one run is visible to the next.
func (w *worker) scrub() {
	clear(w.spare)
	w.spare = w.spare[:0]
}

// compiled returns the module, compiling it from req.wasm when new.
func (w *worker) compiled(req *request) (wazero.CompiledModule, error) {
	if m, ok := w.modules[req.moduleID]; ok {
		return m.mod, nil
	}
	if req.wasm == nil {
		return nil, fmt.Errorf("module %q is not compiled here and no bytes came with the run", req.moduleID)
	}
	m, err := w.rt.CompileModule(w.ctx, req.wasm)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	if len(w.modules) >= maxModules {
		if w.ahead != nil { // its module may be the one evicted
			w.ahead.mod.Close(w.ctx)
			w.ahead = nil
			w.scrub()
		}
		for id, old := range w.modules { // evict one, any
			old.mod.Close(w.ctx)
			delete(w.modules, id)
			break
		}
	}
	w.modules[req.moduleID] = compiled{mod: m, hasStart: hasStartSection(req.wasm)}
	return m, nil
}

// run executes one request. fds are the passed files in request order.
// The run's CPU is the worker's since the previous run's report (or its
// hello): the run itself and the work done for it between runs, scrubbing
// the last run's memory and making its instance ahead. That is also what
// the parent charges a run whose worker it killed (proc.cpuOfDeath), and
// it costs one getrusage per run instead of two.
func (w *worker) run(req *request, fds []*os.File) (wireResult, []wireOutput) {
	res, outs := w.execute(req, fds)
	cpu := cpuNanos()
	res.cpu, res.cumCPU = cpu-w.cpuMark, cpu
	w.cpuMark = cpu
	return res, outs
}

func (w *worker) execute(req *request, fds []*os.File) (res wireResult, outs []wireOutput) {
	res.exitCode = -1
	fail := func(s Status, format string, args ...any) (wireResult, []wireOutput) {
		res.status, res.reason = s, fmt.Sprintf(format, args...)
		return res, nil
	}
	mod, err := w.compiled(req)
	if err != nil {
		return fail(StatusError, "%v", err)
	}
	res.compiledOK = true
	if req.wasm != nil {
		// Compiling is not the guest's time: the parent restarts the
		// deadline when it hears this.
		w.send([]byte{msgStarted})
	}
	lim := req.lim
	for _, m := range mod.ExportedMemories() {
		if int64(m.Min())*wasmPage > lim.Memory {
			return fail(StatusMemory, "the module needs %d bytes of memory at start, over the limit of %d", int64(m.Min())*wasmPage, lim.Memory)
		}
	}

	inst, err := w.start(req, mod, fds, &res)
	if inst == nil {
		return fail(StatusError, "%v", err)
	}
	st, out := inst.st, inst.out
	defer st.closeOut()
	stdout, stderr := &w.stdout, &w.stderr
	alloc := inst.alloc
	// What the streams still buffer goes inside the result message
	// (report), so a short run costs one message each way.
	ferr := stdout.err
	if ferr == nil {
		ferr = stderr.err
	}
	peak, hitLimit := alloc.stats()
	res.peak = peak
	res.stdout, res.stderr = stdout.n, stderr.n
	res.input = st.inputBytes
	res.output = st.outBytes
	res.outDirMade = st.outDirMade
	res.classify(err, hitLimit, lim, st)
	if ferr != nil {
		return res, nil // the parent is gone or the stream broke
	}
	if res.status == StatusExited && res.exitCode == 0 {
		out.walkFiles(func(p string, n *vnode) {
			if d, ok := n.file.(*outData); ok && d.host != "" {
				outs = append(outs, wireOutput{path: p, size: n.size, host: d.host})
			}
		})
	}
	return res, outs
}

// start binds the run to an instance (made ahead when one fits, else
// new) and runs the guest to its end. A nil instance means the run never
// started (err says why); otherwise err is how the guest ended.
func (w *worker) start(req *request, mod wazero.CompiledModule, fds []*os.File, res *wireResult) (*instance, error) {
	lim := req.lim
	if err := w.bindArgsEnv(req.args, req.env); err != nil {
		return nil, err
	}
	w.stdout.reset(w, msgStdout, lim.StdoutBytes, req.discardOut, "stdout").local = req.stdoutLocal
	w.stderr.reset(w, msgStderr, lim.StderrBytes, req.discardErr, "stderr")
	inst := w.takeAhead(req)
	fresh := inst == nil
	res.ahead = !fresh
	if fresh {
		inst = w.newInstance(req.moduleID)
	}
	inst.bind(lim, req.outDir)
	w.mount(inst)
	stdin, err := openChannels(req, fds, inst.st, inst.in)
	if err != nil {
		inst.st.closeOut()
		if !fresh {
			inst.mod.Close(w.ctx) // never started, never reused
		}
		return nil, err
	}
	w.stdin.r = stdin
	defer func() { w.stdin.r = nil }()
	if fresh {
		err = w.make(inst, mod, req.deterministic, req.seed)
	}
	if err == nil {
		err = inst.start(w.ctx)
	}
	res.stdin = stdin.n
	return inst, err
}

// openChannels binds stdin and the /in files of req to their sources
// (inline bytes, a pipe, or an object's data file read in place, verified
// per block), taking the passed descriptors in order. It returns stdin
// wrapped to count its bytes.
func openChannels(req *request, fds []*os.File, st *runState, in *vfs) (*countReader, error) {
	next := 0
	nextFD := func() *os.File { f := fds[next]; next++; return f }
	var stdin io.Reader = strings.NewReader("")
	switch req.stdinKind {
	case srcInline:
		stdin = &readerOnly{b: req.stdinData}
	case srcLocal:
		stdin = req.stdinLocal
	case srcPipe:
		stdin = nextFD()
	case srcBlock:
		r, err := openBlockReader(nextFD(), req.stdinSize)
		if err != nil {
			return nil, fmt.Errorf("stdin: %v", err)
		}
		stdin = r
	}
	for _, inp := range req.inputs {
		var data fileData
		switch inp.kind {
		case srcInline:
			data = &memData{b: inp.data}
			inp.size = int64(len(inp.data))
		case srcPipe:
			data = &readerData{r: nextFD(), name: inp.path, st: st}
		case srcBlock:
			ra, err := openBlockReaderAt(nextFD(), inp.size)
			if err != nil {
				return nil, fmt.Errorf("input /in/%s: %v", inp.path, err)
			}
			data = &readerData{r: ra, name: inp.path, st: st}
		}
		if errno := in.addInput(inp.path, inp.size, data); errno != 0 {
			return nil, fmt.Errorf("input /in/%s: %v", inp.path, errno)
		}
	}
	return &countReader{r: stdin, st: st}, nil
}

// moduleConfig is the guest's whole world but its args and env (bound
// per run, see instantiateWASI): the three streams and /in, /out and
// /tmp, all through the worker's slots, and its clocks and randomness.
// No start function is called by instantiation (instance.start does).
func (w *worker) moduleConfig(deterministic bool, seed int64) wazero.ModuleConfig {
	fsc := wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(&w.mounts[0], "/in")
	fsc = fsc.(sysfs.FSConfig).WithSysFSMount(&w.mounts[1], "/out")
	fsc = fsc.(sysfs.FSConfig).WithSysFSMount(&w.mounts[2], "/tmp")
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithStdin(&w.stdin).WithStdout(&w.stdout).WithStderr(&w.stderr).WithFSConfig(fsc)
	if deterministic {
		return deterministicClock(cfg, seed)
	}
	// Real randomness: wazero's default source is seeded with a constant,
	// so every run would read the same "random" bytes.
	return cfg.WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(cryptorand.Reader)
}

// classify sets the result's status from how the guest ended: err from
// InstantiateModule, whether memory.grow was refused, and input errors.
func (res *wireResult) classify(err error, hitLimit bool, lim Limits, st *runState) {
	var exitErr *sys.ExitError
	var qe *quotaError
	switch {
	case err == nil:
		res.status, res.exitCode = StatusExited, 0
	case errors.As(err, &qe):
		res.status, res.reason = StatusQuota, qe.Error()
	case errors.As(err, &exitErr):
		res.status, res.exitCode = StatusExited, int64(exitErr.ExitCode())
		if res.exitCode != 0 {
			res.reason = fmt.Sprintf("exit status %d", res.exitCode)
		}
	default:
		res.status, res.reason = StatusTrap, firstLine(err.Error())
	}
	if hitLimit && (res.status == StatusTrap || res.exitCode != 0) {
		res.status, res.exitCode = StatusMemory, -1
		res.reason = fmt.Sprintf("memory limit of %d bytes reached (memory.grow refused); then: %s", lim.Memory, res.reason)
	}
	if st.inputErr != nil {
		res.status, res.exitCode = StatusError, -1
		res.reason = st.inputErr.Error()
		if errors.Is(st.inputErr, store.ErrCorrupt) {
			res.reason = "corrupt input: " + res.reason
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// deterministicClock gives the guest a clock that starts at
// 2000-01-01T00:00:00Z and advances 1 ms per read, sleeps that return at
// once, and randomness seeded with seed.
func deterministicClock(cfg wazero.ModuleConfig, seed int64) wazero.ModuleConfig {
	base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	var ticks int64
	wall := func() (int64, int32) {
		ticks++
		t := base + ticks*int64(time.Millisecond)
		return t / 1e9, int32(t % 1e9)
	}
	mono := func() int64 {
		ticks++
		return ticks * int64(time.Millisecond)
	}
	return cfg.WithWalltime(wall, sys.ClockResolution(time.Millisecond)).
		WithNanotime(mono, sys.ClockResolution(time.Millisecond)).
		WithNanosleep(func(ns int64) { ticks += ns / int64(time.Millisecond) }).
		WithRandSource(rand.New(rand.NewSource(seed)))
}

// cpuNanos is this process's user+system CPU time.
func cpuNanos() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// countReader counts the stdin bytes the guest read.
type countReader struct {
	r  io.Reader
	n  int64
	st *runState
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && c.st.inputErr == nil {
		c.st.inputErr = fmt.Errorf("reading stdin: %w", err)
	}
	return n, err
}

// readerOnly reads a byte slice; unlike bytes.Reader it has no WriteTo or
// Seek for wazero to find.
type readerOnly struct{ b []byte }

func (r *readerOnly) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// streamOut carries the guest's stdout or stderr to the parent in
// messages of up to streamChunk bytes, and ends the run with a quotaError
// at the byte limit. Bytes wait at most about 10 ms in the buffer while
// the guest keeps writing; the rest goes at exit. A direct run's stdout
// goes to local instead, unbuffered.
type streamOut struct {
	w       *worker
	local   io.Writer
	typ     byte
	what    string
	limit   int64
	n       int64
	discard bool
	buf     []byte
	since   time.Time
	err     error
}

func (s *streamOut) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	total := len(p)
	over := false
	if s.n+int64(len(p)) > s.limit {
		p = p[:s.limit-s.n]
		over = true
	}
	s.n += int64(len(p))
	switch {
	case s.discard:
	case s.local != nil:
		if _, err := s.local.Write(p); err != nil {
			s.err = err
			return 0, err
		}
	default:
		for len(p) > 0 {
			if len(s.buf) == 0 {
				s.buf = append(s.buf[:0], s.typ)
				s.since = time.Now()
			}
			c := min(len(p), streamChunk+1-len(s.buf))
			s.buf = append(s.buf, p[:c]...)
			p = p[c:]
			if len(s.buf) > streamChunk {
				if err := s.flush(); err != nil {
					return 0, err
				}
			}
		}
		if len(s.buf) > 0 && time.Since(s.since) > 10*time.Millisecond {
			if err := s.flush(); err != nil {
				return 0, err
			}
		}
	}
	if over {
		s.flush()
		panic(&quotaError{what: s.what, limit: s.limit})
	}
	return total, nil
}

// reset readies s for a new run, keeping its buffer.
func (s *streamOut) reset(w *worker, typ byte, limit int64, discard bool, what string) *streamOut {
	*s = streamOut{w: w, typ: typ, limit: limit, discard: discard, what: what, buf: s.buf[:0]}
	return s
}

// tail is what s still buffers, without the type byte.
func (s *streamOut) tail() []byte {
	if len(s.buf) <= 1 || s.err != nil {
		return nil
	}
	return s.buf[1:]
}

func (s *streamOut) flush() error {
	if len(s.buf) <= 1 || s.err != nil {
		s.buf = s.buf[:0]
		return s.err
	}
	s.err = s.w.send(s.buf)
	s.buf = s.buf[:0]
	return s.err
}
