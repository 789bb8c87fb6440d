package runs_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// TestMain lets the test binary serve as its own sandbox worker.
func TestMain(m *testing.M) {
	if sandbox.IsWorkerProcess() {
		os.Exit(sandbox.WorkerMain())
	}
	os.Exit(m.Run())
}

// fixture is a runs.Service over a real engine, registry and sandbox.
type fixture struct {
	svc    *runs.Service
	engine *local.Engine
	kv     meta.Store
}

func newFixture(t *testing.T, slots, queued int) *fixture {
	t.Helper()
	return newFixtureWith(t, slots, queued, nil)
}

// newFixtureWith is newFixture whose Service reaches the engine through
// wrap (nil: directly).
func newFixtureWith(t *testing.T, slots, queued int, wrap func(*local.Engine) store.Engine) *fixture {
	t.Helper()
	ctx, dir := context.Background(), t.TempDir()
	kv, err := meta.OpenLocal(filepath.Join(dir, "control"))
	if err != nil {
		t.Fatal(err)
	}
	engine, err := local.Open(ctx, filepath.Join(dir, "store"), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := apps.New(kv, filepath.Join(dir, "apps"))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := sandbox.New(ctx, sandbox.Config{Workers: slots, WorkerCommand: []string{os.Args[0]}, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join("..", "sandbox", "testdata", "tool.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Push(ctx, "alice", "tool", "1", wasm, apps.Manifest{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []store.BucketInfo{{Name: "alice-data", Owner: "alice"}, {Name: "bob-data", Owner: "bob"}} {
		if err := engine.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := engine.PutObject(ctx, "alice-data", "in.txt", strings.NewReader("abc"), 3, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var eng store.Engine = engine
	if wrap != nil {
		eng = wrap(engine)
	}
	svc := runs.New(runs.Config{Engine: eng, Apps: reg, Runtime: rt, KV: kv, Slots: slots, PerAccountQueued: queued})
	f := &fixture{svc: svc, engine: engine, kv: kv}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		svc.Close(ctx)
		rt.Close()
		engine.Close()
		kv.Close()
	})
	return f
}

func sleeper(timeout time.Duration) runs.Request {
	return runs.Request{Account: "alice", App: "tool", Args: []string{"sleep"}, Limits: sandbox.Limits{Timeout: timeout}}
}

func TestRunReadsObjectAndRecords(t *testing.T) {
	f := newFixture(t, 1, 0)
	ctx := context.Background()
	var out bytes.Buffer
	rec, err := f.svc.Run(ctx, runs.Request{Account: "alice", App: "tool", Args: []string{"cat"},
		StdinObject: &runs.ObjectRef{Bucket: "alice-data", Key: "in.txt"}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.OK() || out.String() != "abc" || rec.StdinBytes != 3 {
		t.Fatalf("record %+v stdout %q", rec, out.String())
	}
	got, err := f.svc.Get(ctx, "alice", rec.ID)
	if err != nil || got.ID != rec.ID || got.Status != sandbox.StatusExited {
		t.Fatalf("stored record %+v %v", got, err)
	}
}

// Refusals come before the queue: they take no slot and leave no record.
func TestRefusedBeforeQueue(t *testing.T) {
	f := newFixture(t, 1, 1)
	ctx := context.Background()
	_, err := f.svc.Run(ctx, runs.Request{Account: "alice", App: "tool", Args: []string{"cat"},
		StdinObject: &runs.ObjectRef{Bucket: "bob-data", Key: "x"}})
	if !errors.Is(err, runs.ErrAccessDenied) {
		t.Fatalf("reading bob's bucket: %v", err)
	}
	if _, err := f.svc.Run(ctx, runs.Request{Account: "alice", App: "tool", Args: []string{"a\x00b"}}); !errors.Is(err, runs.ErrBadRequest) {
		t.Fatalf("an argument with a NUL byte: %v", err)
	}
	for _, env := range []map[string]string{{"A=B": "c"}, {"": "c"}, {"A\x00": "c"}, {"A": "c\x00d"}} {
		if _, err := f.svc.Run(ctx, runs.Request{Account: "alice", App: "tool", Args: []string{"args"}, Env: env}); !errors.Is(err, runs.ErrBadRequest) {
			t.Fatalf("environment %q: %v", env, err)
		}
	}
	if _, err := f.svc.Detach(ctx, runs.Request{Account: "alice", App: "nope"}); !errors.Is(err, apps.ErrNoSuchApp) {
		t.Fatalf("detached run of an unknown app: %v", err)
	}
	if r, w := f.svc.Load(); r != 0 || w != 0 {
		t.Fatalf("refused runs hold %d slots, %d places", r, w)
	}
	if recs, _, _ := f.svc.List(ctx, "alice", 10, ""); len(recs) != 0 {
		t.Fatalf("refused runs left records: %+v", recs)
	}
}

// An account past its queue share is refused at once with ErrBusy; other
// accounts are not.
func TestQueueShare(t *testing.T) {
	f := newFixture(t, 1, 1)
	ctx := context.Background()
	for i := range 2 { // one runs, one waits
		if _, err := f.svc.Detach(ctx, sleeper(time.Minute)); err != nil {
			t.Fatalf("detach %d: %v", i, err)
		}
	}
	if _, err := f.svc.Detach(ctx, sleeper(time.Minute)); !errors.Is(err, runs.ErrBusy) {
		t.Fatalf("third run: %v, want ErrBusy", err)
	}
	if _, err := f.svc.Detach(ctx, runs.Request{Account: "bob", App: "alice/tool", Args: []string{"exit", "0"}}); err == nil || errors.Is(err, runs.ErrBusy) {
		// bob cannot see alice's private app; what matters is that he is
		// not refused for alice's load.
		t.Fatalf("bob: %v, want a not-found error, not ErrBusy", err)
	}
}

// Close drains detached runs: past its deadline it cancels them, and each
// leaves a record (killed, or "could not start" for one still queued).
func TestCloseDrainsDetached(t *testing.T) {
	f := newFixture(t, 1, 4)
	ctx := context.Background()
	running, err := f.svc.Detach(ctx, sleeper(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	queued, err := f.svc.Detach(ctx, sleeper(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if r, _ := f.svc.Load(); r == 1 || time.Now().After(deadline) {
			break
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	f.svc.Close(cctx)
	if _, err := f.svc.Detach(ctx, sleeper(time.Second)); !errors.Is(err, runs.ErrShuttingDown) {
		t.Fatalf("detach after Close: %v", err)
	}
	r1, err := f.svc.Get(ctx, "alice", running)
	if err != nil || r1.Status != sandbox.StatusKilled {
		t.Fatalf("the running run after Close: %+v %v", r1, err)
	}
	r2, err := f.svc.Get(ctx, "alice", queued)
	if err != nil || r2.Status != sandbox.StatusError || !strings.Contains(r2.Error, "could not start") {
		t.Fatalf("the queued run after Close: %+v %v", r2, err)
	}
}
