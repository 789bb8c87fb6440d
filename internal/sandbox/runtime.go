package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
	// CancelGrace is how long a run whose ctx ended may still finish on
	// its own before its worker is killed; default DefaultCancelGrace,
	// negative kills at once. A kill costs a new worker process, so a
	// short run whose caller went away (a service's client hanging up) is
	// cheaper finished than killed; a longer one is stopped.
	CancelGrace time.Duration
	// Logger receives operational logs; default discards.
	Logger *slog.Logger
}

// DefaultCancelGrace is Config.CancelGrace's default: a little more than
// the CPU a new worker process costs to start here (31 ms measured,
// BENCHMARKS.md), so letting a run finish costs at most about what
// killing it would.
const DefaultCancelGrace = 50 * time.Millisecond

// Runtime runs WebAssembly (WASI preview1) guests in a pool of sandbox
// worker processes. Workers execute guests at full speed, with no
// termination checks compiled in; the Runtime enforces a run's deadline
// by killing its worker (SIGKILL) and starting a replacement, so every run
// ends at its deadline whatever the guest does, and its CPU is released.
//
// Run is safe for concurrent use; at most Config.Workers runs execute at
// once and the others wait for a worker (or for their ctx). Close may be
// called concurrently with Run, and more than once.
type Runtime struct {
	cfg   Config
	log   *slog.Logger
	pool  *pool
	cg    *cgroup
	base  string // this Runtime's directory under TempDir
	seq   atomic.Uint64
	once  sync.Once
	tasks *tasks // Runs in progress and their stdin copies
	// msgsIn counts the messages read from workers during runs (a
	// short run costs exactly one: its result).
	msgsIn atomic.Uint64
	// aheadRuns counts runs that used an instance their worker made
	// ahead of time.
	aheadRuns atomic.Uint64
	// directSlots marks the compilation cache slots direct workers hold.
	directMu    sync.Mutex
	directSlots [maxDirectWorkers]bool

	// afterFunc starts a run's deadline timer and ctxAfterFunc its ctx
	// callback: time.AfterFunc and context.AfterFunc, or a test's fakes
	// (export_test.go) that force the late-callback race.
	afterFunc    func(time.Duration, func()) deadline
	ctxAfterFunc func(context.Context, func()) (stop func() bool)
}

// deadline is the part of *time.Timer a run uses.
type deadline interface {
	Reset(d time.Duration) bool
	Stop() bool
}

// closeWait bounds how long Close waits for Runs and stdin copies still
// inside a caller's Reader or Writer once the workers are gone.
const closeWait = 10 * time.Second

// New starts the worker processes and returns when they are ready.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.CancelGrace == 0 {
		cfg.CancelGrace = DefaultCancelGrace
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
	r := &Runtime{cfg: cfg, log: cfg.Logger, base: base, tasks: newTasks(),
		afterFunc:    func(d time.Duration, f func()) deadline { return time.AfterFunc(d, f) },
		ctxAfterFunc: context.AfterFunc}
	r.cg = newCgroup(cfg.Logger, cgroupRoot, cfg.Workers, cfg.CgroupMemory)
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

// Close kills every worker (runs in progress end with StatusKilled),
// waits for the workers to be reaped, for the Runs in progress to return
// and for their stdin copies to end, then removes the Runtime's cgroup and
// its temp directory when no outputs remain in it. A stdin copy can only
// still be running inside the caller's Stdin.Reader.Read (its pipe is
// closed), and a Run inside the caller's Stdout or Stderr Write; the
// runtime cannot interrupt those, so Close waits for them at most
// closeWait (10 s) and then logs a warning and returns. Run after Close
// returns ErrClosed. Close is idempotent and safe to call concurrently.
func (r *Runtime) Close() error {
	r.once.Do(func() {
		idle := r.tasks.close()
		r.pool.close()
		select {
		case <-idle:
		case <-time.After(closeWait):
			r.log.Warn("sandbox: runs or stdin copies still blocked in the caller's reader or writer after close")
		}
		r.cg.remove()
		os.Remove(r.base)
	})
	return nil
}

// Run executes spec in a fresh instance on an idle worker and waits for
// it to end. Guest failures (non-zero exit, trap, limits, cancellation)
// are reported in the Result with a Reason; the error is for
// infrastructure failures and invalid specs only. When ctx ends, the run
// is killed and its Result says StatusKilled. Limits.Timeout counts from
// when a worker is assigned: time waiting for one is Result.Queued and
// eats nothing of the run's time. Stdin.Reader is copied on another
// goroutine, which may still be inside one Read call when Run returns
// (Close waits for it).
func (r *Runtime) Run(ctx context.Context, spec Spec) (*Result, error) {
	lim := spec.Limits.withDefaults()
	if spec.ModuleID == "" {
		return nil, errors.New("sandbox: Spec.ModuleID is empty")
	}
	inputs, err := checkInputs(spec.Inputs)
	if err != nil {
		return nil, err
	}
	if !r.tasks.enter() {
		return nil, ErrClosed
	}
	defer r.tasks.done()
	asked := time.Now()
	p, err := r.pool.acquire(ctx)
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return &Result{Status: StatusKilled, ExitCode: -1, Queued: time.Since(asked),
			Reason: "cancelled while waiting for a sandbox: " + err.Error(), Cleanup: func() {}}, nil
	}
	c := &call{r: r, ctx: ctx, p: p, spec: &spec, inputs: inputs, lim: lim, start: time.Now()}
	res, healthy, err := c.run()
	if res != nil {
		res.Queued = c.start.Sub(asked)
	}
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
