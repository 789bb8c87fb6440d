package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kill stops the worker's whole process group while the leader is
// unreaped, and once the reaper has run it signals nothing (the pid may
// belong to another process by then) and keeps the first reason.
func TestKillGroupThenNothingAfterReap(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child")
	cmd := exec.Command("sh", "-c", "sleep 60 & echo $! > "+pidFile+"; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Skip("no sh:", err)
	}
	var wg sync.WaitGroup
	p := newProc(cmd, 0, &wg)
	child := waitPidFile(t, pidFile)
	if p.pidfd < 0 {
		t.Log("kernel without pidfd_open: plain kill(2) under the reap lock")
	}
	p.kill(killTimeout)
	<-p.done
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for !errors.Is(syscall.Kill(child, 0), syscall.ESRCH) && !isZombie(child) {
		if time.Now().After(deadline) {
			t.Fatalf("group member %d survived the kill", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.mu.Lock()
	reaped, fd := p.reaped, p.pidfd
	p.mu.Unlock()
	if !reaped || fd != -1 {
		t.Fatalf("after reap: reaped=%v pidfd=%d", reaped, fd)
	}
	p.kill(killClose) // must not signal a possibly reused pid
	if got := p.killed.Load(); got != killTimeout {
		t.Fatalf("killed = %d, want the first reason %d", got, killTimeout)
	}
}

func waitPidFile(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatal("no child pid")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] == "Z"
}
