package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// Each hostile guest ends by its limits with the right status and a clear
// reason, and the pool is healthy right after.
func TestHostileGuests(t *testing.T) {
	r, _ := newRuntime(t, 2)
	wat := func(name string) sandbox.Spec {
		id, wasm := module(t, name)
		return sandbox.Spec{ModuleID: id, Wasm: wasm}
	}
	short := sandbox.Limits{Timeout: 300 * time.Millisecond}
	cases := []struct {
		name   string
		spec   sandbox.Spec
		status sandbox.Status
		reason string
	}{
		{"infinite loop", toolSpec(t, "loop"), sandbox.StatusTimeout, "time limit"},
		{"exponential recursion without loops", wat("recursion.wasm"), sandbox.StatusTimeout, "time limit"},
		{"sleep forever in poll_oneoff", toolSpec(t, "sleep"), sandbox.StatusTimeout, "time limit"},
		{"blocked in fd_read", func() sandbox.Spec {
			s := toolSpec(t, "readstdin")
			// Neither end is written or closed until cleanup. The write
			// end must stay referenced: an unreferenced *os.File is
			// closed by its finalizer at the next GC, and the guest
			// would then read EOF and exit instead of blocking.
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pr.Close(); pw.Close() })
			s.Stdin.Reader = pr
			return s
		}(), sandbox.StatusTimeout, "time limit"},
		{"unbounded memory.grow", wat("grow.wasm"), sandbox.StatusMemory, "memory limit"},
		{"malloc loop", toolSpec(t, "malloc"), sandbox.StatusMemory, "memory limit"},
		{"endless stdout", toolSpec(t, "spew"), sandbox.StatusQuota, "stdout quota"},
		{"thousands of files in /out", toolSpec(t, "manyfiles"), sandbox.StatusQuota, "/out files quota"},
		{"endless /out bytes", toolSpec(t, "bigout"), sandbox.StatusQuota, "/out bytes quota"},
		{"endless /tmp bytes", toolSpec(t, "tmpfill"), sandbox.StatusQuota, "/tmp bytes quota"},
		{"trap", wat("trap.wasm"), sandbox.StatusTrap, "unreachable"},
		{"trap in C", toolSpec(t, "trap"), sandbox.StatusTrap, "unreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			spec.Limits = short
			if tc.status != sandbox.StatusTimeout {
				// These must end by their own limit; a generous deadline
				// keeps a loaded machine from ending them by time first.
				spec.Limits.Timeout = 30 * time.Second
			}
			spec.Limits.Memory = 16 << 20
			spec.Limits.StdoutBytes = 1 << 20
			spec.Limits.OutBytes = 4 << 20
			spec.Limits.TmpBytes = 4 << 20
			spec.Limits.OutFiles = 100
			res, _, _ := mustRun(t, r, spec)
			wantStatus(t, res, tc.status, tc.reason)
			if res.ExitCode != -1 {
				t.Errorf("exit code %d, want -1", res.ExitCode)
			}
			if tc.status == sandbox.StatusTimeout && res.CPU <= 0 {
				t.Errorf("no CPU time reported for a killed run: %+v", res)
			}
			if tc.status == sandbox.StatusMemory && res.PeakMemory > 16<<20 {
				t.Errorf("peak memory %d over the limit", res.PeakMemory)
			}
			if len(res.Outputs) != 0 {
				t.Errorf("outputs of a failed run: %v", res.Outputs)
			}
			healthy(t, r)
		})
	}
}

// A module whose declared minimum memory exceeds the limit never starts.
func TestMemoryMinimumOverLimit(t *testing.T) {
	r, _ := newRuntime(t, 1)
	spec := toolSpec(t, "exit", "0")
	spec.Limits.Memory = 64 << 10 // one page; tool needs more
	res, _, _ := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusMemory, "memory")
}

func TestPathTraversal(t *testing.T) {
	r, tmp := newRuntime(t, 1)
	before := listTree(t, tmp)
	spec := toolSpec(t, "escape")
	spec.Inputs = []sandbox.Input{{Path: "data.txt", Bytes: []byte("granted data")}}
	res, out, errs := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusExited, "")
	t.Logf("guest report:\n%s%s", out, errs)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(line, "OPENED control in:data.txt"):
			if !strings.Contains(line, "granted data") {
				t.Errorf("control read failed: %s", line)
			}
		case strings.HasPrefix(line, "OPENED libc /out/mine.txt"):
			t.Errorf("read back /out: %s", line)
		case strings.HasPrefix(line, "OPENED"):
			// Creating new files inside the guest's own /tmp or /out
			// is allowed; nothing else may open.
			if !strings.HasPrefix(line, "OPENED create tmp:") && !strings.HasPrefix(line, "OPENED create out:") {
				t.Errorf("escaped: %s", line)
			}
		case strings.Contains(line, "MADE"):
			t.Errorf("made a link or changed /in: %s", line)
		}
		if strings.Contains(line, "root:") {
			t.Errorf("read a host file: %s", line)
		}
	}
	if !strings.Contains(out, "OPENED control in:data.txt: granted data") {
		t.Errorf("control line missing")
	}
	// Creates that succeeded must have stayed inside the run's own tree:
	// the only new host files are the run's outputs.
	for _, f := range []string{"/escape.txt", "/etc/escape.txt", "escape.txt", filepath.Join(tmp, "escape.txt")} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s was created", f)
		}
	}
	var outDir string
	for _, o := range res.Outputs {
		outDir = filepath.Dir(o.HostPath)
		if filepath.Clean(o.Path) != o.Path || strings.HasPrefix(o.Path, "/") || contains(strings.Split(o.Path, "/"), "..") {
			t.Errorf("output path %q", o.Path)
		}
	}
	for p := range listTree(t, tmp) {
		if before[p] || strings.HasPrefix(p, filepath.Join(tmp, "cache")) {
			continue
		}
		if outDir == "" || (p != outDir && filepath.Dir(p) != outDir && p != filepath.Dir(outDir)) {
			t.Errorf("unexpected host file %s", p)
		}
	}
	res.Cleanup()
	healthy(t, r)
}

func listTree(t testing.TB, root string) map[string]bool {
	m := map[string]bool{}
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			m[p] = true
		}
		return nil
	})
	return m
}

func TestValidate(t *testing.T) {
	ctx := context.Background()
	info, err := sandbox.Validate(ctx, readWasm(t, "tool.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size == 0 || len(info.Imports) == 0 || !contains(info.Exports, "_start") || !contains(info.Exports, "memory") {
		t.Fatalf("info %+v", info)
	}
	for _, tc := range []struct {
		file, want string
	}{
		{"unknown_import.wasm", "env.launch_missiles"},
	} {
		_, err := sandbox.Validate(ctx, readWasm(t, tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want mention of %q", tc.file, err, tc.want)
		}
	}
	if _, err := sandbox.Validate(ctx, []byte("not wasm")); err == nil {
		t.Error("garbage accepted")
	}
	// A module with no _start (a reactor) is refused.
	noStart := []byte("\x00asm\x01\x00\x00\x00\x05\x03\x01\x00\x01\x07\x0a\x01\x06memory\x02\x00")
	if _, err := sandbox.Validate(ctx, noStart); err == nil || !strings.Contains(err.Error(), "_start") {
		t.Errorf("no _start: %v", err)
	}
	// Running the unknown-import module fails cleanly too.
	r, _ := newRuntime(t, 1)
	id, wasm := module(t, "unknown_import.wasm")
	res, _, _ := mustRun(t, r, sandbox.Spec{ModuleID: id, Wasm: wasm})
	if res.Status == sandbox.StatusExited {
		t.Errorf("ran a module with an unknown import: %+v", res)
	}
	healthy(t, r)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
