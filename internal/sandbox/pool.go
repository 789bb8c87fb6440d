package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// helloTimeout bounds a worker's start-up (exec, wazero runtime, WASI).
const helloTimeout = 30 * time.Second

// pool keeps Workers warm worker processes plus one warm spare, so a
// killed worker is replaced at once and its successor starts in the
// background. Idle workers are taken last in, first out (idleSet).
type pool struct {
	cfg    *Config
	log    *slog.Logger
	cg     *cgroup
	idle   *idleSet
	spare  chan *proc
	closed chan struct{}
	ctx    context.Context    // ends at close: stops spawns in flight
	cancel context.CancelFunc // ends ctx
	// wg counts background respawns and every worker's reaper; close
	// waits for it, so no goroutine of the pool outlives close.
	wg sync.WaitGroup

	mu   sync.Mutex
	live map[*proc]struct{}
}

// newPool starts Workers+1 workers and returns when all said hello (or
// the first error, with every started worker killed and reaped).
func newPool(ctx context.Context, cfg *Config, log *slog.Logger, cg *cgroup) (*pool, error) {
	pctx, cancel := context.WithCancel(context.Background())
	pl := &pool{
		ctx: pctx, cancel: cancel,
		cfg: cfg, log: log, cg: cg,
		idle:   newIdleSet(cfg.Workers),
		spare:  make(chan *proc, 1),
		closed: make(chan struct{}),
		live:   map[*proc]struct{}{},
	}
	n := cfg.Workers + 1
	errs := make(chan error, n)
	for slot := range n {
		go func() {
			p, err := pl.spawn(ctx, slot)
			if err != nil {
				errs <- err
				return
			}
			if slot == cfg.Workers {
				pl.spare <- p
			} else {
				pl.idle.put(p)
			}
			errs <- nil
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		pl.close()
		return nil, first
	}
	return pl, nil
}

// spawn starts a worker in cache slot slot and waits for its hello.
func (pl *pool) spawn(ctx context.Context, slot int) (*proc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sandbox: socketpair: %w", err)
	}
	parentEnd := os.NewFile(uintptr(fds[0]), "sandbox-parent")
	childEnd := os.NewFile(uintptr(fds[1]), "sandbox-child")
	defer childEnd.Close()
	defer parentEnd.Close()

	cacheDir := ""
	if pl.cfg.CacheDir != "" {
		// One cache directory per live worker: wazero's file cache is not
		// safe across processes compiling at once (wazero issue 2547).
		cacheDir = filepath.Join(pl.cfg.CacheDir, "w"+strconv.Itoa(slot))
	}
	argv := pl.cfg.WorkerCommand
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = workerEnviron(os.Environ(), cacheDir)
	cmd.ExtraFiles = []*os.File{childEnd} // fd 3
	cmd.Stdout = nil
	cmd.Stderr = os.Stderr // a worker's own crash report
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pl.cg.apply(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sandbox: start worker %q: %w", argv[0], err)
	}
	p := newProc(cmd, slot, &pl.wg)
	c, err := net.FileConn(parentEnd)
	if err != nil {
		p.kill(killClose)
		return nil, fmt.Errorf("sandbox: worker conn: %w", err)
	}
	p.conn = c.(*net.UnixConn)
	if p.raw, err = p.conn.SyscallConn(); err != nil {
		p.kill(killClose)
		p.conn.Close()
		<-p.done
		return nil, fmt.Errorf("sandbox: worker conn: %w", err)
	}
	if err := p.hello(ctx); err != nil {
		p.kill(killClose)
		p.conn.Close()
		<-p.done
		return nil, fmt.Errorf("sandbox: worker %d did not start (%v, %s)", p.pid, err, p.cmd.ProcessState)
	}
	if !pl.register(p) {
		p.kill(killClose)
		p.conn.Close()
		return nil, ErrClosed
	}
	pl.log.Debug("sandbox worker started", "pid", p.pid, "slot", slot)
	return p, nil
}

// register adds p to the live workers close kills; false once closed.
func (pl *pool) register(p *proc) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	select {
	case <-pl.closed:
		return false
	default:
	}
	pl.live[p] = struct{}{}
	return true
}

// acquire waits for an idle worker and takes the one released last.
func (pl *pool) acquire(ctx context.Context) (*proc, error) {
	select {
	case <-pl.idle.tokens:
		return pl.idle.pop(), nil
	default:
	}
	select {
	case <-pl.idle.tokens:
		return pl.idle.pop(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-pl.closed:
		return nil, ErrClosed
	}
}

// release returns a healthy worker to the pool, or retires a dead one:
// the spare takes its place at once and a new spare starts in the
// background in the dead worker's cache slot.
func (pl *pool) release(p *proc, healthy bool) {
	if healthy {
		select {
		case <-pl.closed:
			pl.retire(p)
		default:
			pl.idle.put(p)
		}
		return
	}
	pl.retire(p)
	select {
	case s := <-pl.spare:
		pl.idle.put(s)
	default:
		// No spare (several deaths in a row): the replacement goes
		// straight to the idle set when it is up.
		pl.background(func() {
			<-p.done
			if np := pl.respawn(p.slot); np != nil {
				pl.idle.put(np)
			}
		})
		return
	}
	pl.background(func() {
		<-p.done
		if np := pl.respawn(p.slot); np != nil {
			select {
			case pl.spare <- np:
			default:
				pl.idle.put(np) // cannot happen while counts hold; stay safe
			}
		}
	})
}

// background runs fn on a goroutine that close waits for, unless the pool
// is closed (then fn does not run). The check and the WaitGroup's Add
// happen under pl.mu, which close holds while it closes pl.closed, so no
// Add can race with close's Wait.
func (pl *pool) background(fn func()) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	select {
	case <-pl.closed:
		return
	default:
	}
	pl.wg.Add(1)
	go func() {
		defer pl.wg.Done()
		fn()
	}()
}

// respawn starts a worker, retrying with backoff until it works or the
// pool closes (nil then).
func (pl *pool) respawn(slot int) *proc {
	delay := 10 * time.Millisecond
	for {
		select {
		case <-pl.closed:
			return nil
		default:
		}
		p, err := pl.spawn(pl.ctx, slot)
		if err == nil {
			return p
		}
		if errors.Is(err, ErrClosed) {
			return nil
		}
		pl.log.Error("sandbox worker start failed", "err", err)
		select {
		case <-pl.closed:
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// retire kills p and forgets it.
func (pl *pool) retire(p *proc) {
	p.kill(killClose)
	p.conn.Close()
	pl.mu.Lock()
	delete(pl.live, p)
	pl.mu.Unlock()
}

// close kills every worker and waits for them to be reaped and for the
// background respawns to give up. Idempotent.
func (pl *pool) close() {
	pl.mu.Lock()
	select {
	case <-pl.closed:
		pl.mu.Unlock()
		return
	default:
	}
	close(pl.closed)
	pl.cancel()
	procs := make([]*proc, 0, len(pl.live))
	for p := range pl.live {
		procs = append(procs, p)
	}
	pl.mu.Unlock()
	for _, p := range procs {
		p.kill(killClose)
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			pl.log.Error("sandbox worker not reaped", "pid", p.pid)
		}
	}
	pl.wg.Wait()
	for _, p := range pl.idle.drain() {
		p.conn.Close()
	}
	for {
		select {
		case p := <-pl.spare:
			p.conn.Close()
		default:
			return
		}
	}
}

// idleSet holds the idle workers as a stack: acquire takes the worker
// released last. A worker that just reported a run is still on a CPU (or
// was a moment ago) making its next instance, so a caller running runs
// one after another reuses a warm process instead of waking one that has
// slept through a whole run (issue 13: p50 about a quarter lower for one
// caller, see BENCHMARKS.md).
//
// tokens holds one token per worker on the stack: put pushes, then adds a
// token; a taker first takes a token (which is what it waits on, in a
// select with its ctx), then pops. So the stack is never empty when
// popped. Safe for concurrent use.
type idleSet struct {
	tokens chan struct{}
	mu     sync.Mutex
	procs  []*proc
}

// newIdleSet holds up to n workers (the pool's Workers; put never blocks
// while the pool keeps that count).
func newIdleSet(n int) *idleSet {
	return &idleSet{tokens: make(chan struct{}, n), procs: make([]*proc, 0, n)}
}

// put pushes p and makes it available to a taker.
func (s *idleSet) put(p *proc) {
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	s.tokens <- struct{}{}
}

// pop takes the worker pushed last; the caller holds a token.
func (s *idleSet) pop() *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[len(s.procs)-1]
	s.procs[len(s.procs)-1] = nil
	s.procs = s.procs[:len(s.procs)-1]
	return p
}

// drain takes every idle worker (for close, once no run can acquire).
func (s *idleSet) drain() []*proc {
	var out []*proc
	for {
		select {
		case <-s.tokens:
			out = append(out, s.pop())
		default:
			return out
		}
	}
}
