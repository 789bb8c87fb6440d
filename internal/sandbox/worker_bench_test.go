package sandbox

import (
	"context"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkWorkerCycle is a worker's own work for one short run, in this
// process and without the parent: the run on an instance made ahead (wc
// over 1 KiB of inline stdin), then what follows its report, scrubbing
// its memory and making the next instance. It isolates the worker's CPU
// per run from the cross-process wake-ups that dominate the latency of
// bench/sandbox on a loaded machine (issue 13).
func BenchmarkWorkerCycle(b *testing.B) {
	wasm, err := os.ReadFile("../../examples/apps/wc/wc.wasm")
	if err != nil {
		b.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	w, err := newWorker(context.Background(), fds[1], "")
	if err != nil {
		b.Fatal(err)
	}
	stdin := []byte(strings.Repeat("word and more\n", 74)[:1023] + "\n")
	req := request{moduleID: "wc", wasm: wasm, args: []string{"wc"}, lim: Limits{}.withDefaults(),
		stdinKind: srcInline, stdinData: stdin, outDir: b.TempDir()}
	cycle := func() {
		res, _ := w.run(&req, nil)
		if res.status != StatusExited || res.exitCode != 0 || w.stdout.n == 0 {
			b.Fatalf("run: %v %d %q", res.status, res.exitCode, res.reason)
		}
		w.stdout.buf, w.stderr.buf = w.stdout.buf[:0], w.stderr.buf[:0]
		w.scrub()
		w.prepareAhead(req.moduleID)
	}
	cycle() // compiles (and tells the parent end, unread)
	req.wasm = nil
	b.ReportAllocs()
	for b.Loop() {
		cycle()
	}
}
