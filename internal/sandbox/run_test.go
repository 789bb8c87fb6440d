package sandbox_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

func toolSpec(t testing.TB, args ...string) sandbox.Spec {
	id, wasm := module(t, "tool.wasm")
	return sandbox.Spec{ModuleID: id, Wasm: wasm, Args: append([]string{"tool"}, args...)}
}

func mustRun(t testing.TB, r *sandbox.Runtime, spec sandbox.Spec) (*sandbox.Result, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if spec.Stdout == nil {
		spec.Stdout = &out
	}
	if spec.Stderr == nil {
		spec.Stderr = &errb
	}
	res, err := r.Run(context.Background(), spec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(res.Cleanup)
	return res, out.String(), errb.String()
}

func wantStatus(t testing.TB, res *sandbox.Result, st sandbox.Status, reason string) {
	t.Helper()
	if res.Status != st {
		t.Fatalf("status %s (%q), want %s", res.Status, res.Reason, st)
	}
	if reason != "" && !strings.Contains(res.Reason, reason) {
		t.Fatalf("reason %q does not mention %q", res.Reason, reason)
	}
}

func TestHelloArgsEnv(t *testing.T) {
	r, _ := newRuntime(t, 1)
	spec := toolSpec(t, "args", "FOO", "BAR")
	spec.Env = []string{"FOO=foo value", "BAR="}
	res, out, _ := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusExited, "")
	want := "arg tool\narg args\narg FOO\narg BAR\nenv FOO=foo value\nenv BAR=\n"
	if out != want || res.ExitCode != 0 {
		t.Fatalf("stdout %q exit %d, want %q", out, res.ExitCode, want)
	}
	if res.StdoutBytes != int64(len(want)) || res.PeakMemory <= 0 {
		t.Fatalf("accounting: %+v", res)
	}
	res, _, _ = mustRun(t, r, toolSpec(t, "exit", "7"))
	if res.Status != sandbox.StatusExited || res.ExitCode != 7 || !strings.Contains(res.Reason, "7") {
		t.Fatalf("exit 7: %+v", res)
	}
}

func TestStdinBytesAndReader(t *testing.T) {
	r, _ := newRuntime(t, 1)
	small := "hello stdin\n"
	spec := toolSpec(t, "cat")
	spec.Stdin.Reader = strings.NewReader(small)
	res, out, _ := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusExited, "")
	if out != small || res.StdinBytes != int64(len(small)) {
		t.Fatalf("got %q (%d stdin bytes)", out, res.StdinBytes)
	}
	// A streamed reader of unknown length goes through a pipe.
	big := bytes.Repeat([]byte("0123456789abcdef"), 200000) // 3.2 MB
	spec = toolSpec(t, "cat")
	spec.Stdin.Reader = struct{ *bytes.Reader }{bytes.NewReader(big)}
	res, out, _ = mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusExited, "")
	if out != string(big) {
		t.Fatalf("streamed stdin: got %d bytes, want %d", len(out), len(big))
	}
}

func TestStdoutStderrCaps(t *testing.T) {
	r, _ := newRuntime(t, 1)
	spec := toolSpec(t, "spew")
	spec.Limits.StdoutBytes = 100000
	res, out, _ := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusQuota, "stdout quota")
	if len(out) != 100000 || res.StdoutBytes != 100000 {
		t.Fatalf("stdout %d bytes (counted %d), want exactly the cap", len(out), res.StdoutBytes)
	}
	spec = toolSpec(t, "stderr", "5000")
	spec.Limits.StderrBytes = 1000
	res, _, errs := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusQuota, "stderr quota")
	if len(errs) != 1000 {
		t.Fatalf("stderr %d bytes", len(errs))
	}
	spec = toolSpec(t, "stderr", "500")
	res, _, errs = mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusExited, "")
	if errs != strings.Repeat("e", 500) {
		t.Fatalf("stderr %q", errs)
	}
	healthy(t, r)
}

// healthy checks that a normal run succeeds right away.
func healthy(t testing.TB, r *sandbox.Runtime) {
	t.Helper()
	spec := toolSpec(t, "cat")
	spec.Stdin.Reader = strings.NewReader("ok")
	res, out, _ := mustRun(t, r, spec)
	if res.Status != sandbox.StatusExited || res.ExitCode != 0 || out != "ok" {
		t.Fatalf("pool not healthy after: %+v %q", res, out)
	}
}

// A short run costs one message each way: the request, and the result
// carrying the guest's stdout and stderr (issue 13).
func TestOneMessageEachWay(t *testing.T) {
	r, _ := newRuntime(t, 1)
	mustRun(t, r, toolSpec(t, "args")) // compiles the module: one more message
	for i := range 6 {
		spec, wantOut, wantErr := toolSpec(t, "args", "x"), "arg tool\narg args\narg x\nenv x=(unset)\n", ""
		if i%2 == 1 {
			spec, wantOut, wantErr = toolSpec(t, "stderr", "3"), "", "eee"
		}
		before := sandbox.MessagesIn(r)
		res, out, errs := mustRun(t, r, spec)
		wantStatus(t, res, sandbox.StatusExited, "")
		if got := sandbox.MessagesIn(r) - before; got != 1 {
			t.Fatalf("run %d: %d messages from the worker, want 1", i, got)
		}
		if out != wantOut || errs != wantErr {
			t.Fatalf("run %d: stdout %q stderr %q, want %q and %q", i, out, errs, wantOut, wantErr)
		}
	}
}
