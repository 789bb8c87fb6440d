package sandbox_test

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// A worker makes the next instance while idle (issue 13), and that
// instance serves exactly one run, with that run's own args, env, stdin
// and limits; a deterministic run or another module gets a new one.
func TestInstanceMadeAheadServesOneRun(t *testing.T) {
	r, _ := newRuntime(t, 1)
	mustRun(t, r, toolSpec(t, "args")) // compiles; the next instance is made
	for i, arg := range []string{"one", "two", "three"} {
		before := sandbox.AheadRuns(r)
		spec := toolSpec(t, "args", "V"+arg)
		spec.Env = []string{"V" + arg + "=" + strings.Repeat(arg, i+1), "V" + arg + "=last"}
		res, out, _ := mustRun(t, r, spec)
		wantStatus(t, res, sandbox.StatusExited, "")
		want := "arg tool\narg args\narg V" + arg + "\nenv V" + arg + "=last\n"
		if out != want {
			t.Fatalf("run %d: stdout %q, want %q", i, out, want)
		}
		if got := sandbox.AheadRuns(r) - before; got != 1 {
			t.Fatalf("run %d: %d runs on an instance made ahead, want 1", i, got)
		}
	}
	// Each run's /tmp and stdin are its own.
	for i := range 2 {
		res, out, errs := mustRun(t, r, toolSpec(t, "tmp"))
		wantStatus(t, res, sandbox.StatusExited, "")
		if res.ExitCode != 0 {
			t.Fatalf("tmp run %d: %q %q", i, out, errs)
		}
		spec := toolSpec(t, "cat")
		spec.Stdin.Reader = bytes.NewReader([]byte("in " + string(rune('a'+i))))
		if _, out, _ := mustRun(t, r, spec); out != "in "+string(rune('a'+i)) {
			t.Fatalf("cat run %d: %q", i, out)
		}
	}
	// A deterministic run has its own clocks: a new instance.
	before := sandbox.AheadRuns(r)
	spec := toolSpec(t, "args")
	spec.Deterministic = true
	wantStatus(t, first(mustRun(t, r, spec)), sandbox.StatusExited, "")
	id, wasm := module(t, "trivial.wasm")
	wantStatus(t, first(mustRun(t, r, sandbox.Spec{ModuleID: id, Wasm: wasm})), sandbox.StatusExited, "")
	if got := sandbox.AheadRuns(r) - before; got != 0 {
		t.Fatalf("%d deterministic or other-module runs used an instance made ahead", got)
	}
	// The memory limit of the run binds to an instance made ahead.
	mustRun(t, r, toolSpec(t, "args"))
	spec = toolSpec(t, "malloc")
	spec.Limits = sandbox.Limits{Memory: 4 << 20, Timeout: 30 * time.Second}
	res, _, _ := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusMemory, "memory limit")
	if res.PeakMemory > 4<<20 {
		t.Fatalf("peak %d over a 4 MiB limit", res.PeakMemory)
	}
}

func first(res *sandbox.Result, _, _ string) *sandbox.Result { return res }

// startModule is a module whose start section runs a function; with
// loop, one that never returns.
func startModule(loop bool) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = append(b, 1, 4, 1, 0x60, 0, 0) // type 0: func () -> ()
	b = append(b, 3, 2, 1, 0)          // function 0 has type 0
	b = append(b, 8, 1, 0)             // start: function 0
	if loop {
		b = append(b, 10, 9, 1, 7, 0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b)
	} else {
		b = append(b, 10, 4, 1, 2, 0, 0x0b)
	}
	return b
}

// A module with a start section runs guest code when instantiated, so it
// is never made ahead (that code would run outside any run's deadline);
// inside a run it is stopped at the deadline like any guest.
func TestStartSectionNeverMadeAhead(t *testing.T) {
	if !sandbox.HasStartSection(startModule(false)) || sandbox.HasStartSection(readWasm(t, "trivial.wasm")) {
		t.Fatal("start section detection is wrong")
	}
	r, _ := newRuntime(t, 1)
	wasm := func(loop bool) func() ([]byte, error) {
		return func() ([]byte, error) { return startModule(loop), nil }
	}
	before := sandbox.AheadRuns(r)
	for range 3 {
		wantStatus(t, first(mustRun(t, r, sandbox.Spec{ModuleID: "start", Wasm: wasm(false)})), sandbox.StatusExited, "")
	}
	if got := sandbox.AheadRuns(r) - before; got != 0 {
		t.Fatalf("%d runs of a module with a start section used an instance made ahead", got)
	}
	spec := sandbox.Spec{ModuleID: "startloop", Wasm: wasm(true), Limits: sandbox.Limits{Timeout: 300 * time.Millisecond}}
	wantStatus(t, first(mustRun(t, r, spec)), sandbox.StatusTimeout, "time limit")
	healthy(t, r)
}

func FuzzHasStartSection(f *testing.F) {
	f.Add(startModule(false))
	f.Add(startModule(true))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x00\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sandbox.HasStartSection(b) // must not panic on any input
		if len(b) < 8 && !sandbox.HasStartSection(b) {
			t.Fatal("a truncated module must count as having a start section")
		}
	})
}

// One caller running runs one after another keeps using the worker that
// served its last run (idle workers are taken last in, first out): with
// two workers, the module is compiled once and every run after the first
// takes an instance made ahead. Taken in turns, the second run would
// compile again on the other worker and start cold.
func TestOneCallerKeepsItsWorker(t *testing.T) {
	r, _ := newRuntime(t, 2)
	var loads atomic.Int32
	id, wasm := module(t, "trivial.wasm")
	spec := sandbox.Spec{ModuleID: id, Wasm: func() ([]byte, error) { loads.Add(1); return wasm() }}
	before := sandbox.AheadRuns(r)
	for range 6 {
		wantStatus(t, first(mustRun(t, r, spec)), sandbox.StatusExited, "")
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("the module was sent to a worker %d times, want 1", n)
	}
	if got := sandbox.AheadRuns(r) - before; got != 5 {
		t.Fatalf("%d of 6 runs used an instance made ahead, want 5", got)
	}
}
