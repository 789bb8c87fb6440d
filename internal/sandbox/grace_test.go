package sandbox_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// TestCancelledRunMayFinish: a run whose caller goes away but which ends
// within Config.CancelGrace reports how it really ended, and its worker
// lives on (no process is killed, none started). TestCancel covers the
// other side: a run that does not end is killed when the grace is out.
func TestCancelledRunMayFinish(t *testing.T) {
	tmp := t.TempDir()
	r, err := sandbox.New(context.Background(), sandbox.Config{
		Workers: 1, WorkerCommand: []string{os.Args[0]}, TempDir: tmp,
		CancelGrace: 10 * time.Second, // far longer than the run needs, even on a loaded machine
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	mustRun(t, r, toolSpec(t, "args")) // the worker and its spare are up
	before := listChildren()

	stdin, feed := io.Pipe()
	t.Cleanup(func() { stdin.Close() }) // a writer left by a failure returns
	spec := toolSpec(t, "cat")
	spec.Stdin.Reader = stdin
	var out bytes.Buffer
	spec.Stdout = &out
	ctx, cancel := context.WithCancel(context.Background())
	type ran struct {
		res *sandbox.Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := r.Run(ctx, spec)
		done <- ran{res, err}
	}()
	// The stdin pump takes this only once the run has its worker.
	wrote := make(chan error, 1)
	go func() { _, err := feed.Write([]byte("still here\n")); wrote <- err }()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case got := <-done:
		t.Fatalf("the run ended before it read its stdin: %+v %v", got.res, got.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not read its stdin in 30 s")
	}
	cancel()
	time.Sleep(100 * time.Millisecond) // the cancel has long been seen
	feed.Close()
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	if got.res.Status != sandbox.StatusExited || got.res.ExitCode != 0 || out.String() != "still here\n" {
		t.Fatalf("a cancelled run that ended in its grace: %s exit %d (%s), stdout %q", got.res.Status, got.res.ExitCode, got.res.Reason, out.String())
	}
	if after := listChildren(); !slices.Equal(slices.Sorted(slices.Values(before)), slices.Sorted(slices.Values(after))) {
		t.Errorf("worker processes %v before, %v after: the worker was replaced", before, after)
	}
}
