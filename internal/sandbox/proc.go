package sandbox

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Why a worker was killed.
const (
	killNone    int32 = iota
	killTimeout       // the run's deadline passed
	killCancel        // the caller's ctx ended
	killClose         // the Runtime closed
	killOutput        // writing the guest's output to the caller failed
)

// proc is one worker process as the parent sees it. Between acquire and
// release it belongs to one Run; kill and killRun may be called from any
// goroutine.
type proc struct {
	pid     int
	slot    int // compilation cache slot, reused by its replacement
	cmd     *exec.Cmd
	conn    *net.UnixConn
	raw     syscall.RawConn // conn's fd, for sendMsg and readMsg (rawio.go)
	done    chan struct{}   // closed once the process has been reaped
	killed  atomic.Int32    // a kill* reason, first one wins
	modules map[string]struct{}
	lastCPU int64 // the worker's cumulative CPU ns after its last run
	rbuf    []byte
	e       enc
	req     request
	inline  []byte // reusable stdin buffer
	outs    []wireOutput

	mu     sync.Mutex
	pidfd  int    // -1 when the kernel has no pidfds, or once reaped
	reaped bool   // set (under mu) before the process is reaped
	gen    uint64 // the current run's kill window, see arm
	armed  bool   // a run's deadline and ctx may kill the worker
}

// newProc wraps a started worker: it opens a pidfd (before anything can
// reap the process, so the pid cannot have been reused yet) and starts the
// reaper, which closes done. wg counts the reaper, so the pool's close
// can wait for every worker to be reaped.
func newProc(cmd *exec.Cmd, slot int, wg *sync.WaitGroup) *proc {
	p := &proc{pid: cmd.Process.Pid, slot: slot, cmd: cmd, done: make(chan struct{}),
		modules: map[string]struct{}{}, rbuf: make([]byte, maxMsg+1), pidfd: -1}
	if fd, err := unix.PidfdOpen(p.pid, 0); err == nil { // close-on-exec by definition
		p.pidfd = fd
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.reap()
	}()
	return p
}

// reap waits for the worker to exit without reaping it (WNOWAIT), marks
// it reaped under mu, and only then reaps it; so a kill holding mu never
// signals a pid that could belong to another process. It ends when the
// worker exits; pool.close kills every worker and waits for the reapers.
func (p *proc) reap() {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	p.mu.Lock()
	p.reaped = true
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
	p.mu.Unlock()
	p.cmd.Wait()
	close(p.done)
}

// kill SIGKILLs the worker and records why (the first reason wins).
func (p *proc) kill(reason int32) {
	p.mu.Lock()
	p.killLocked(reason)
	p.mu.Unlock()
}

// killLocked is kill with p.mu held.
//
// The worker leads its own process group (Setpgid), and workers have no
// children: guests cannot fork and the worker starts no process, so the
// leader is the whole group and killing it through its pidfd is what
// stops the run. The group kill is a backstop, and safe: a pid stays
// allocated while its process is unreaped, and reap sets reaped under mu
// before reaping, so while mu is held and reaped is false, -pid can only
// name this worker's own group.
func (p *proc) killLocked(reason int32) {
	p.killed.CompareAndSwap(killNone, reason)
	if p.reaped {
		return
	}
	syscall.Kill(-p.pid, syscall.SIGKILL)
	if p.pidfd >= 0 {
		unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0)
	} else {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

// arm opens a run's kill window and returns its token for killRun. The
// run's deadline timer and ctx callback kill through killRun, so a
// callback that fires late (after disarm, when the worker may already
// serve the next run) does nothing.
func (p *proc) arm() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	p.armed = true
	return p.gen
}

// disarm closes the kill window. After it returns no callback of the
// ended run can kill the worker, so p.killed then says for good whether
// the worker is still healthy.
func (p *proc) disarm() {
	p.mu.Lock()
	p.armed = false
	p.mu.Unlock()
}

// killRun kills the worker for reason if run gen's kill window is still
// open. The check and the kill share one hold of mu, so a run that has
// disarmed either sees this kill in p.killed or is never touched by it.
func (p *proc) killRun(gen uint64, reason int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.armed && p.gen == gen {
		p.killLocked(reason)
	}
}

// hello waits for the worker's first message (at most helloTimeout, or
// until ctx ends) and takes its CPU count from it.
func (p *proc) hello(ctx context.Context) error {
	p.conn.SetReadDeadline(time.Now().Add(helloTimeout))
	stop := context.AfterFunc(ctx, func() { p.conn.SetReadDeadline(time.Now()) })
	n, err := p.conn.Read(p.rbuf)
	stop()
	p.conn.SetReadDeadline(time.Time{})
	if err != nil {
		return err
	}
	if n == 0 || p.rbuf[0] != msgHello {
		return errors.New("no hello")
	}
	d := &dec{b: p.rbuf[1:n]}
	p.lastCPU = d.i()
	return nil
}

// cpuOfDeath is the CPU the worker used since its last report, read from
// its rusage once reaped (waits at most a few seconds).
func (p *proc) cpuOfDeath() time.Duration {
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		return 0
	}
	st := p.cmd.ProcessState
	if st == nil {
		return 0
	}
	total := st.UserTime() + st.SystemTime()
	return max(0, total-time.Duration(p.lastCPU))
}
