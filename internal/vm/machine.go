package vm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNotRunning is returned by Adopt when no QEMU runs for the
// directory, and by Reset and SetForwards once the machine has exited.
var ErrNotRunning = errors.New("vm: QEMU is not running for this directory")

// ErrClosed is returned by a Machine's methods after Close.
var ErrClosed = errors.New("vm: machine handle closed")

// Timing of Start, Adopt and the exit watcher.
const (
	startTimeout  = 10 * time.Second       // QEMU start to QMP answering
	adoptTimeout  = 5 * time.Second        // Adopt's QMP connection
	dialAttempt   = 2 * time.Second        // one QMP connection attempt
	watchInterval = 200 * time.Millisecond // exit polling
)

// Machine is a handle on one running QEMU process. Its methods are safe
// for concurrent use; QMP commands are serialized. Close releases the
// handle and leaves QEMU running.
type Machine struct {
	dir  string
	pid  int
	log  *slog.Logger
	done chan struct{} // closed by watch when QEMU has exited
	stop chan struct{} // closed by Close
	wg   sync.WaitGroup
	once sync.Once

	mu     sync.Mutex // guards qmp, fwd, closed
	qmp    *qmpConn   // nil until (re)connected
	fwd    []Forward  // the live hostfwd set, mirrored in forwards.json
	closed bool
}

// Start creates spec.Dir if needed, makes the disk overlay on the first
// Start, launches QEMU in its own session with stdout and stderr appended
// to Dir/qemu.log, and returns once QMP answers (at most 10 s, else an
// error carrying the tail of qemu.log). QEMU keeps running when the
// calling process exits. Starting a directory whose QEMU still runs is
// an error (Adopt it instead).
func Start(ctx context.Context, spec Spec, log *slog.Logger) (*Machine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := spec.normalize()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	if pid, err := readPID(s.Dir); err == nil && isQEMUFor(pid, s.Dir) {
		return nil, fmt.Errorf("vm: %s: QEMU already runs (pid %d); Adopt it", s.Dir, pid)
	}
	disk, err := ensureOverlay(ctx, s)
	if err != nil {
		return nil, err
	}
	if err := writeForwards(s.Dir, s.Forwards); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(s.Dir, qmpFile))
	pid, err := launch(s, disk, log)
	if err != nil {
		return nil, err
	}
	m := newMachine(s.Dir, pid, s.Forwards, log)
	// Not isQEMUFor: just after execve the kernel shows the new image
	// with an empty command line for a moment, and an unreaped child's
	// pid cannot name another process anyway.
	if err := m.connect(ctx, startTimeout, func() bool { return childRunning(pid) }); err != nil {
		// pid is still our unreaped child (running or a zombie), so it
		// cannot name another process: stop it and collect how it ended.
		syscall.Kill(pid, syscall.SIGKILL)
		return nil, fmt.Errorf("vm: start %s: %w (%s); qemu.log: %s", s.Dir, err, waitChild(pid), lastRunLog(s.Dir))
	}
	m.log.Info("vm started", "dir", s.Dir, "pid", pid, "accel", s.Accel, "memoryMiB", s.MemoryMiB, "vcpus", s.VCPUs)
	m.run()
	return m, nil
}

// launch starts QEMU detached (setsid, stdin /dev/null, output to
// qemu.log) and returns its pid; QEMU is our child until we reap it.
func launch(s Spec, disk string, log *slog.Logger) (int, error) {
	logf, err := os.OpenFile(filepath.Join(s.Dir, qemuLogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("vm: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "%s%s\n", runMark, time.Now().UTC().Format(time.RFC3339))
	khz := hostTSCkHz()
	if khz == 0 && s.Accel == AccelTCG && s.Kernel != "" {
		log.Warn("vm: host TSC frequency unknown; the guest kernel may hang calibrating it", "dir", s.Dir)
	}
	cmd := exec.Command(s.QEMU, qemuArgs(s, disk, khz)...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("vm: start QEMU: %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release() // reaped by the watcher through Wait4
	return pid, nil
}

// runMark starts the line launch writes to qemu.log before each run.
const runMark = "--- insitu start "

// lastRunLog is what QEMU wrote to dir/qemu.log in its last run (at most
// the last 2 KiB).
func lastRunLog(dir string) string {
	b, _ := tail(filepath.Join(dir, qemuLogFile), 2048)
	s := string(b)
	if i := strings.LastIndex(s, runMark); i >= 0 {
		s = s[i:]
		if j := strings.IndexByte(s, '\n'); j >= 0 {
			s = s[j+1:]
		}
	}
	return strings.TrimSpace(s)
}

// Adopt reattaches to the QEMU running for dir (after an insitu restart)
// through dir/qmp.sock, restoring the forward set from forwards.json. It
// returns ErrNotRunning when that QEMU is gone.
func Adopt(ctx context.Context, dir string, log *slog.Logger) (*Machine, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	pid, err := readPID(dir)
	if err != nil || !isQEMUFor(pid, dir) {
		if err == nil {
			reapZombie(pid)
		}
		return nil, ErrNotRunning
	}
	fwd, err := readForwards(dir)
	if err != nil {
		return nil, err
	}
	m := newMachine(dir, pid, fwd, log)
	if err := m.connect(ctx, adoptTimeout, func() bool { return isQEMUFor(pid, dir) }); err != nil {
		if !m.alive() {
			return nil, ErrNotRunning
		}
		return nil, fmt.Errorf("vm: adopt %s: %w", dir, err)
	}
	m.log.Info("vm adopted", "dir", dir, "pid", pid)
	m.run()
	return m, nil
}

func newMachine(dir string, pid int, fwd []Forward, log *slog.Logger) *Machine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Machine{dir: dir, pid: pid, log: log, fwd: fwd,
		done: make(chan struct{}), stop: make(chan struct{})}
}

// connect dials QMP until it answers, running reports QEMU gone, or
// timeout passes.
func (m *Machine) connect(ctx context.Context, timeout time.Duration, running func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sock := filepath.Join(m.dir, qmpFile)
	for {
		actx, acancel := context.WithTimeout(ctx, dialAttempt)
		q, err := dialQMP(actx, sock)
		acancel()
		if err == nil {
			m.qmp = q
			return nil
		}
		if !running() {
			return errors.New("QEMU exited")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("QMP did not answer: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// run starts the exit watcher, owned by m and waited for by Close.
func (m *Machine) run() {
	m.wg.Add(1)
	go m.watch()
}

// watch closes done when QEMU has exited, until Close. With a pidfd
// (Linux 5.3+) the exit is seen at once; the process is also checked,
// and Close noticed, every watchInterval.
func (m *Machine) watch() {
	defer m.wg.Done()
	fd, err := unix.PidfdOpen(m.pid, 0)
	if err == nil {
		defer unix.Close(fd)
	} else {
		fd = -1
	}
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		if !m.alive() {
			m.log.Info("vm exited", "dir", m.dir, "pid", m.pid)
			close(m.done)
			return
		}
		if fd >= 0 {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if n, _ := unix.Poll(pfd, int(watchInterval/time.Millisecond)); n > 0 && m.alive() {
				fd = -1 // readable yet alive: not our process's pidfd; poll by time
			}
			select {
			case <-m.stop:
				return
			default:
				continue
			}
		}
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// Done is closed when the QEMU process has exited (seen at once through a
// pidfd, else within 200 ms).
// After Close it is never closed unless the exit was seen before.
func (m *Machine) Done() <-chan struct{} { return m.done }

// exited reports whether Done is closed.
func (m *Machine) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// Close drops the QMP connection and stops the exit watcher, waiting for
// it; QEMU keeps running. It is idempotent and waits for a QMP command in
// flight (at most its 10 s timeout).
func (m *Machine) Close() error {
	m.once.Do(func() {
		close(m.stop)
		m.wg.Wait()
		m.mu.Lock()
		defer m.mu.Unlock()
		m.closed = true
		if m.qmp != nil {
			m.qmp.close()
			m.qmp = nil
		}
	})
	return nil
}

// do runs fn on the QMP connection, reconnecting once if it was lost.
// An I/O failure drops the connection so the next call redials.
func (m *Machine) do(ctx context.Context, fn func(*qmpConn) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.exited() {
		if m.qmp != nil { // the dead QEMU's socket
			m.qmp.close()
			m.qmp = nil
		}
		return ErrNotRunning
	}
	if m.qmp == nil {
		actx, cancel := context.WithTimeout(ctx, dialAttempt)
		q, err := dialQMP(actx, filepath.Join(m.dir, qmpFile))
		cancel()
		if err != nil {
			return err
		}
		m.qmp = q
	}
	err := fn(m.qmp)
	var qe *QMPError
	if err != nil && !errors.As(err, &qe) {
		m.qmp.close()
		m.qmp = nil
	}
	return err
}

// alive reports whether m's QEMU still runs, reaping it if it is our
// exited child.
func (m *Machine) alive() bool {
	if isQEMUFor(m.pid, m.dir) {
		return true
	}
	reapZombie(m.pid)
	return false
}

// readPID reads dir/qemu.pid.
func readPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("vm: bad pid file in %s", dir)
	}
	return pid, nil
}

// isQEMUFor reports whether pid is a live process whose command line
// holds dir's QMP option, so a reused pid is not mistaken for it (a
// zombie's command line is empty).
func isQEMUFor(pid int, dir string) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "\x00"+qmpOption(dir)+"\x00")
}

// childRunning reports whether pid, a child of this process not yet
// reaped, still runs (it exists and is not a zombie).
func childRunning(pid int) bool {
	state, _, ok := procState(pid)
	return ok && state != "Z"
}

// procState is the state letter and parent pid of pid from
// /proc/PID/stat; ok is false when pid does not exist.
func procState(pid int) (state, ppid string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", "", false
	}
	// "PID (COMM) STATE PPID ...": COMM may hold spaces, so split after ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", "", false
	}
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 2 {
		return "", "", false
	}
	return f[0], f[1], true
}

// reapZombie collects pid's exit status when it is an exited child of
// this process; other processes are left alone.
func reapZombie(pid int) {
	state, ppid, ok := procState(pid)
	if !ok || state != "Z" || ppid != strconv.Itoa(os.Getpid()) {
		return
	}
	syscall.Wait4(pid, nil, syscall.WNOHANG, nil)
}

// waitChild reaps the child pid, waiting for it to end, and says how it
// ended ("exit status N" or "killed by signal S").
func waitChild(pid int) string {
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return "exit unknown: " + err.Error()
	}
	if ws.Signaled() {
		return "killed by signal " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}
