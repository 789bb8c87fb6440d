package vm

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestChildRunning: Start's liveness check sees its own child by its
// process state, not its command line (empty for a moment after execve),
// and reports a zombie as gone without reaping it.
func TestChildRunning(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !childRunning(pid) {
		t.Fatal("a running child reported gone")
	}
	if isQEMUFor(pid, t.TempDir()) {
		t.Fatal("sleep taken for QEMU")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for childRunning(pid) {
		if time.Now().After(deadline) {
			t.Fatal("a killed child still reported running")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if state, _, ok := procState(pid); !ok || state != "Z" {
		t.Fatalf("killed child: state %q, exists %v; want an unreaped zombie", state, ok)
	}
	cmd.Wait()
	if _, _, ok := procState(pid); ok {
		t.Fatal("reaped child still in /proc")
	}
	if childRunning(pid) {
		t.Fatal("reaped child reported running")
	}
}
