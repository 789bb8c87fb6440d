package vm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/testtool"
)

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// freeForward is a forward from a free port on 127.100.200.1 to guest.
func freeForward(t *testing.T, guest int) Forward {
	t.Helper()
	l, err := net.Listen("tcp", "127.100.200.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return Forward{HostIP: "127.100.200.1", HostPort: l.Addr().(*net.TCPAddr).Port, GuestPort: guest}
}

// listening reports whether something accepts TCP at f's host side.
func listening(f Forward) bool {
	c, err := net.DialTimeout("tcp", f.key(), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// startFirmware starts a machine with no kernel (the firmware idles) and
// kills it at cleanup.
func startFirmware(t *testing.T, dir string, fw ...Forward) *Machine {
	t.Helper()
	testtool.NeedQEMU(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := Start(ctx, Spec{Dir: dir, MemoryMiB: 32, VCPUs: 1, Accel: AccelTCG, Forwards: fw}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killDir(t, dir) })
	return m
}

// killDir SIGKILLs whatever QEMU still runs for dir.
func killDir(t *testing.T, dir string) {
	if pid, err := readPID(dir); err == nil && isQEMUFor(pid, dir) {
		t.Logf("cleanup: killing QEMU %d of %s", pid, dir)
		syscall.Kill(pid, syscall.SIGKILL)
		time.Sleep(100 * time.Millisecond)
		reapZombie(pid)
	}
}

func TestStartAdoptForwardsPowerDown(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f1, f2 := freeForward(t, 80), freeForward(t, 22)
	m := startFirmware(t, dir, f1)
	if !listening(f1) || listening(f2) {
		t.Fatalf("at start: %v listening %v, %v listening %v", f1, listening(f1), f2, listening(f2))
	}
	if _, err := Start(ctx, Spec{Dir: dir, MemoryMiB: 32, VCPUs: 1, Accel: AccelTCG}, nil); err == nil ||
		!strings.Contains(err.Error(), "already runs") {
		t.Fatalf("second Start of a running dir: %v", err)
	}
	qmpErrors(t, m)
	if err := m.SetForwards(ctx, []Forward{f2}); err != nil {
		t.Fatal(err)
	}
	if listening(f1) || !listening(f2) {
		t.Fatalf("after SetForwards([f2]): f1 %v, f2 %v", listening(f1), listening(f2))
	}
	forwardBusyPort(t, m, f1, f2)

	adoptFirmware(t, m, f1, f2)
}

// forwardBusyPort asks for a forward of a port somebody else holds:
// QEMU's error comes back and the set keeps what was applied.
func forwardBusyPort(t *testing.T, m *Machine, f1, f2 Forward) {
	ctx := context.Background()
	busy, err := net.Listen("tcp", "127.100.200.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	fb := Forward{HostIP: "127.100.200.1", HostPort: busy.Addr().(*net.TCPAddr).Port, GuestPort: 8080}
	err = m.SetForwards(ctx, []Forward{f2, f1, fb})
	if err == nil || !strings.Contains(err.Error(), "Could not set up host forwarding rule") {
		t.Fatalf("forward of a busy port: %v", err)
	}
	if got := m.Forwards(); !slices.Equal(got, []Forward{f2, f1}) {
		t.Fatalf("Forwards after a failed add = %v", got)
	}
	if err := m.SetForwards(ctx, []Forward{{HostIP: "nohost", HostPort: 1, GuestPort: 1}}); err == nil {
		t.Fatal("bad forward accepted")
	}
}

// adoptFirmware closes m, adopts its QEMU again and powers it down
// through the adopted handle (the firmware ignores the power button).
func adoptFirmware(t *testing.T, m *Machine, f1, f2 Forward) {
	ctx := context.Background()
	// As after an insitu restart: drop the handle, adopt the QEMU again.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Reset(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reset after Close: %v", err)
	}
	a, err := Adopt(ctx, m.dir, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.Forwards(); !slices.Equal(got, []Forward{f2, f1}) {
		t.Fatalf("adopted Forwards = %v", got)
	}
	if err := a.SetForwards(ctx, []Forward{f1}); err != nil || listening(f2) || !listening(f1) {
		t.Fatalf("adopted SetForwards: %v; f1 %v f2 %v", err, listening(f1), listening(f2))
	}
	if err := a.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
		t.Fatal("Reset ended QEMU (-no-reboot turned the reset into a shutdown)")
	case <-time.After(500 * time.Millisecond):
	}

	// The firmware ignores the power button: PowerDown falls back to quit.
	start := time.Now()
	if err := a.PowerDown(ctx, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
	default:
		t.Fatal("PowerDown returned before Done")
	}
	t.Logf("PowerDown with a 300ms grace took %s", time.Since(start))
	if listening(f1) {
		t.Fatal("forward still listening after PowerDown")
	}
	if err := a.Reset(ctx); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Reset after exit: %v", err)
	}
	if _, err := Adopt(ctx, m.dir, nil); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Adopt after exit: %v", err)
	}
}

// qmpErrors checks that QEMU's error answer becomes a *QMPError and
// leaves the connection usable.
func qmpErrors(t *testing.T, m *Machine) {
	ctx := context.Background()
	err := m.do(ctx, func(q *qmpConn) error { return q.execute(ctx, "no-such-command", nil, nil) })
	var qe *QMPError
	if !errors.As(err, &qe) || qe.Class != "CommandNotFound" || !strings.Contains(qe.Desc, "no-such-command") {
		t.Fatalf("unknown QMP command: %#v", err)
	}
	var st struct {
		Status  string `json:"status"`
		Running bool   `json:"running"`
	}
	err = m.do(ctx, func(q *qmpConn) error { return q.execute(ctx, "query-status", nil, &st) })
	if err != nil || !st.Running || st.Status != "running" {
		t.Fatalf("query-status after an error: %+v, %v", st, err)
	}
}

func TestKillStoppedQEMU(t *testing.T) {
	dir := t.TempDir()
	m := startFirmware(t, dir)
	defer m.Close()
	// A stopped process answers no QMP: Kill must fall back to SIGKILL.
	syscall.Kill(m.pid, syscall.SIGSTOP)
	start := time.Now()
	if err := m.Kill(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("Kill of a SIGSTOPped QEMU took %s", time.Since(start))
	if isQEMUFor(m.pid, dir) {
		t.Fatal("QEMU still runs")
	}
	if err := m.Kill(context.Background()); err != nil {
		t.Fatalf("second Kill: %v", err)
	}
}

func TestKillCancelledContext(t *testing.T) {
	dir := t.TempDir()
	m := startFirmware(t, dir)
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	<-m.Done()
}

func TestAdoptNotOurChild(t *testing.T) {
	testtool.NeedQEMU(t)
	dir := t.TempDir()
	t.Cleanup(func() { killDir(t, dir) })
	// Another process starts QEMU and exits, as insitu does on restart.
	out, err := exec.Command(os.Args[0], startHelperArg, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("start helper: %v: %s", err, out)
	}
	pid, err := readPID(dir)
	if err != nil {
		t.Fatal(err)
	}
	ppid := parentOf(t, pid)
	if ppid == os.Getpid() {
		t.Fatalf("QEMU %d is this test's child", pid)
	}
	m, err := Adopt(context.Background(), dir, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Ended behind our back (not through m): Done must notice.
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-m.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed 5 s after QEMU was killed")
	}
}

// parentOf is pid's parent pid from /proc.
func parentOf(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	var ppid int
	fmt.Sscan(f[1], &ppid)
	return ppid
}

func TestAdoptRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Adopt(ctx, dir, nil); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Adopt of an empty dir: %v", err)
	}
	// A pid file naming a live process that is not this dir's QEMU.
	os.WriteFile(filepath.Join(dir, pidFile), []byte(fmt.Sprint(os.Getpid())), 0o600)
	if _, err := Adopt(ctx, dir, nil); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Adopt of a pid that is not QEMU: %v", err)
	}
}

func TestStartFails(t *testing.T) {
	testtool.NeedQEMU(t)
	ctx := context.Background()
	dir := t.TempDir()
	_, err := Start(ctx, Spec{Dir: dir, Kernel: filepath.Join(dir, "no-kernel"), MemoryMiB: 32, VCPUs: 1, Accel: AccelTCG}, nil)
	if err == nil || !strings.Contains(err.Error(), "qemu.log") || !strings.Contains(err.Error(), "no-kernel") ||
		!strings.Contains(err.Error(), "QEMU exited (exit status 1)") {
		t.Fatalf("Start with a missing kernel: %v", err)
	}
	// A second failure reports its own run's output only.
	_, err = Start(ctx, Spec{Dir: dir, Kernel: filepath.Join(dir, "other-kernel"), MemoryMiB: 32, VCPUs: 1, Accel: AccelTCG}, nil)
	if err == nil || !strings.Contains(err.Error(), "other-kernel") || strings.Contains(err.Error(), "no-kernel") {
		t.Fatalf("second failed Start: %v", err)
	}
	t.Logf("a failed Start: %v", err)
	busy, err := net.Listen("tcp", "127.100.200.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	fb := Forward{HostIP: "127.100.200.1", HostPort: busy.Addr().(*net.TCPAddr).Port, GuestPort: 80}
	_, err = Start(ctx, Spec{Dir: dir, MemoryMiB: 32, VCPUs: 1, Accel: AccelTCG, Forwards: []Forward{fb}}, nil)
	if err == nil || !strings.Contains(err.Error(), "Could not set up host forwarding rule") {
		t.Fatalf("Start forwarding a busy port: %v", err)
	}
	_, err = Start(ctx, Spec{Dir: dir, MemoryMiB: 32, VCPUs: 1, Accel: AccelTCG, QEMU: filepath.Join(dir, "no-qemu")}, nil)
	if err == nil {
		t.Fatal("Start with a missing QEMU binary succeeded")
	}
	_, err = Start(ctx, Spec{Dir: dir, RootBase: filepath.Join(dir, "no-base"), MemoryMiB: 32, VCPUs: 1, Accel: AccelTCG}, nil)
	if err == nil || !strings.Contains(err.Error(), "root disk") {
		t.Fatalf("Start with a missing base disk: %v", err)
	}
}

func TestConsoleTail(t *testing.T) {
	dir := t.TempDir()
	if b, err := ConsoleTail(dir, 10); b != nil || err != nil {
		t.Fatalf("no console: %q, %v", b, err)
	}
	os.WriteFile(filepath.Join(dir, consoleFile), []byte("0123456789abcdef"), 0o600)
	for max, want := range map[int]string{4: "cdef", 16: "0123456789abcdef", 100: "0123456789abcdef", 0: ""} {
		if b, err := ConsoleTail(dir, max); err != nil || string(b) != want {
			t.Errorf("ConsoleTail(%d) = %q, %v; want %q", max, b, err, want)
		}
	}
}
