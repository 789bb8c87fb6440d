package sandbox_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// gateReader is a stdin that, at its first Read, closes started (if
// set), blocks until release is closed (if set) and then for wait, and
// then yields data and EOF.
type gateReader struct {
	started chan struct{}
	release chan struct{}
	wait    time.Duration
	data    string
	once    sync.Once
	r       io.Reader
}

func (g *gateReader) Read(b []byte) (int, error) {
	g.once.Do(func() {
		if g.started != nil {
			close(g.started)
		}
		if g.release != nil {
			<-g.release
		}
		time.Sleep(g.wait)
		g.r = strings.NewReader(g.data)
	})
	return g.r.Read(b)
}

// Issue 8 item 8: Limits.Timeout counts from when a worker is assigned.
// With the only worker busy for most of B's timeout, B still gets its
// full timeout, and Result splits Queued from Wall.
func TestTimeoutCountsFromWorkerAssignment(t *testing.T) {
	r, _ := newRuntime(t, 1)
	healthy(t, r) // tool.wasm compiled on the worker: no compile restarts B's deadline
	const hold, need, timeout = 1500 * time.Millisecond, 1000 * time.Millisecond, 2000 * time.Millisecond

	started := make(chan struct{})
	a := toolSpec(t, "cat")
	a.Stdin.Reader = &gateReader{started: started, wait: hold}
	aDone := make(chan *sandbox.Result, 1)
	go func() {
		res, err := r.Run(context.Background(), a)
		if err != nil {
			t.Error(err)
		}
		aDone <- res
	}()
	<-started // A holds the worker for hold from now

	b := toolSpec(t, "readstdin") // exits once one byte arrives, need after it starts
	b.Limits.Timeout = timeout
	b.Stdin.Reader = &gateReader{wait: need, data: "x"}
	res, _, _ := mustRun(t, r, b)
	wantStatus(t, res, sandbox.StatusExited, "")
	if res.Queued < hold/2 {
		t.Errorf("Queued %v, want about %v (the time A held the worker)", res.Queued, hold)
	}
	if res.Wall < need || res.Wall >= timeout {
		t.Errorf("Wall %v, want the execution time, between %v and %v", res.Wall, need, timeout)
	}
	if resA := <-aDone; resA == nil || resA.Status != sandbox.StatusExited {
		t.Fatalf("A: %+v", resA)
	}
}

// Issue 8 item 7: a worker's environment is the minimal one it needs,
// never the parent's (which holds the root keys).
func TestWorkerEnvironmentIsMinimal(t *testing.T) {
	const marker = "marker-8f3c1e-do-not-leak"
	t.Setenv("INSITU_ROOT_SECRET_KEY", marker)
	t.Setenv("AWS_SECRET_ACCESS_KEY", marker)
	before := len(listChildren())
	r, _ := newRuntime(t, 2)
	healthy(t, r)
	kids := listChildren()
	if len(kids) != before+3 { // 2 workers and the spare
		t.Fatalf("%d child processes, want %d", len(kids), before+3)
	}
	for _, pid := range kids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		env := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("worker %d carries the parent's secrets: %q", pid, env)
		}
		if !strings.Contains(string(b), "INSITU_SANDBOX_WORKER=1") {
			t.Errorf("worker %d environment lacks INSITU_SANDBOX_WORKER=1: %q", pid, env)
		}
		for _, kv := range env {
			if !strings.HasPrefix(kv, "INSITU_SANDBOX_WORKER") && !strings.HasPrefix(kv, "GO") {
				t.Errorf("worker %d has %q in its environment", pid, kv)
			}
		}
	}
}

// Close waits for the stdin copy of a run that ended without reading its
// stdin (the copy is still inside the caller's Read), for every worker to
// be reaped, and is idempotent.
func TestCloseWaitsForStdinCopy(t *testing.T) {
	r, _ := newRuntime(t, 1)
	started, release := make(chan struct{}), make(chan struct{})
	spec := toolSpec(t, "exit", "0")
	spec.Stdin.Reader = &gateReader{started: started, release: release, data: "late"}
	spec.Limits.Timeout = 2 * time.Minute // a first run compiles; a loaded CI box took over 10 s
	res, _, _ := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusExited, "")
	<-started // the copy is blocked in Read, after Run returned

	closed := make(chan struct{})
	go func() {
		r.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a stdin copy was still running")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the stdin copy ended")
	}
	if kids := listChildren(); len(kids) > 0 {
		t.Errorf("workers not reaped when Close returned: %v", kids)
	}
	r.Close()
	if _, err := r.Run(context.Background(), toolSpec(t, "exit", "0")); err != sandbox.ErrClosed {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}
