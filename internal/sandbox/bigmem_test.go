package sandbox_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// TestBigMemoryLeavesWithItsRun runs a guest that grows its memory past
// the worker's heap threshold, marks it, grows it again (the kernel may
// move the mapping) and checks its marks and the new zero part itself.
// The run must exit 0, and afterwards the worker must hold no more than a
// few MiB beyond what it held before: a big guest's memory goes back to
// the kernel with its run instead of lingering as garbage for the Go
// collector.
func TestBigMemoryLeavesWithItsRun(t *testing.T) {
	r, _ := newRuntime(t, 1)
	id, wasm := module(t, "bigmem.wasm")
	spec := sandbox.Spec{ModuleID: id, Wasm: wasm, Limits: sandbox.Limits{Memory: 128 << 20, Timeout: 30 * time.Second}}
	small := toolSpec(t, "args", "hi") // warms the worker up first
	mustRun(t, r, small)
	before := workersAnon(t)
	for i := range 3 {
		res, _, stderr := mustRun(t, r, spec)
		if res.Status != sandbox.StatusExited || res.ExitCode != 0 {
			t.Fatalf("run %d: %s exit %d (%s) %q; 1: a mark was lost, 2: new memory not zero, 3: a grow failed", i, res.Status, res.ExitCode, res.Reason, stderr)
		}
		if res.PeakMemory != 96<<20 {
			t.Errorf("run %d: peak memory %d, want %d", i, res.PeakMemory, 96<<20)
		}
	}
	mustRun(t, r, small) // the worker is idle again, its last instance closed
	after := workersAnon(t)
	t.Logf("workers' anonymous memory: %d KiB before, %d KiB after three 96 MiB runs", before>>10, after>>10)
	if after-before > 8<<20 {
		t.Errorf("the workers kept %d MiB after the big runs", (after-before)>>20)
	}
}

// workersAnon is the resident anonymous memory of this process's children
// (the runtime's worker and its spare), in bytes.
func workersAnon(t *testing.T) int64 {
	var sum int64
	for _, pid := range listChildren() {
		sum += rssAnon(t, pid)
	}
	return sum
}

// TestMappedMemoryStopsAtItsLimit grows a guest's memory page by page
// past the heap threshold into a kernel mapping and on to its limit: the
// grow past the limit fails inside the guest (it traps, and the run ends
// on its memory limit), the peak is the limit, and the worker's next run
// is fine.
func TestMappedMemoryStopsAtItsLimit(t *testing.T) {
	r, _ := newRuntime(t, 1)
	id, wasm := module(t, "grow.wasm")
	const limit = 48 << 20
	spec := sandbox.Spec{ModuleID: id, Wasm: wasm, Limits: sandbox.Limits{Memory: limit, Timeout: 30 * time.Second}}
	res, _, _ := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusMemory, "memory limit")
	if res.PeakMemory != limit {
		t.Errorf("peak memory %d, want the limit %d", res.PeakMemory, limit)
	}
	healthy(t, r)
}

// rssAnon is pid's resident anonymous memory in bytes.
func rssAnon(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "RssAnon:" { // "RssAnon:  1234 kB"
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no RssAnon in /proc/PID/status")
	return 0
}
