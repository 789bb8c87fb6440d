package jobs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// heldCommits holds the commit of every PutObject of a key in hold
// (after reading its whole body, so the guest is not held) until release;
// it reports each key reaching its commit on reached.
type heldCommits struct {
	*local.Engine
	mu      sync.Mutex
	hold    map[string]chan struct{}
	reached chan string
}

func (h *heldCommits) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts store.PutOptions) (store.ObjectInfo, error) {
	h.mu.Lock()
	gate := h.hold[key]
	h.mu.Unlock()
	body, err := io.ReadAll(r)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	h.reached <- key
	if gate != nil {
		<-gate
	}
	return h.Engine.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), opts)
}

// runFixture is a jobs Service over a real runs.Service, sandbox, engine
// (behind heldCommits) and meta store, with one slot and the example wc
// app pushed for account "acct", which owns bucket "data" with n objects.
func runFixture(t *testing.T, n, maxCommitting int) (*Service, *heldCommits) {
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
	rt, err := sandbox.New(ctx, sandbox.Config{Workers: 1, WorkerCommand: []string{os.Args[0]}, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join("..", "..", "examples", "apps", "wc", "wc.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Push(ctx, "acct", "wc", "1", wasm, apps.Manifest{}); err != nil {
		t.Fatal(err)
	}
	if err := engine.CreateBucket(ctx, store.BucketInfo{Name: "data", Owner: "acct"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		body := strings.Repeat("w ", i+1)
		if _, err := engine.PutObject(ctx, "data", fmt.Sprintf("in/%d", i), strings.NewReader(body), int64(len(body)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h := &heldCommits{Engine: engine, hold: map[string]chan struct{}{}, reached: make(chan string, 4*n)}
	rs := runs.New(runs.Config{Engine: h, Apps: reg, Runtime: rt, KV: kv, Slots: 1})
	s, err := New(ctx, Config{Runs: rs, Engine: h, KV: kv, Slots: 1, MaxCommitting: maxCommitting})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		rs.Close(cctx)
		rt.Close()
		engine.Close()
		kv.Close()
	})
	return s, h
}

// waitReached waits for a key to reach its commit (harness bound).
func waitReached(t *testing.T, h *heldCommits, what string) string {
	t.Helper()
	select {
	case k := <-h.reached:
		return k
	case <-time.After(30 * time.Second):
		t.Fatalf("no output reached its commit: %s", what)
		return ""
	}
}

// With one slot, the task whose output commit is held has handed its
// slot on: the next task runs meanwhile. With MaxCommitting (2) tasks
// committing, the third keeps the slot once its run is done, so the
// fourth does not start until a commit ends; then the job completes.
func TestTaskCommitsOffItsSlot(t *testing.T) {
	const n = 4
	s, h := runFixture(t, n, 2)
	gate := make(chan struct{})
	var open sync.Once
	t.Cleanup(func() { open.Do(func() { close(gate) }) }) // before the fixture's
	out := "out/"
	for i := range n {
		h.hold[fmt.Sprintf("%s0/%06d", out, i)] = gate
	}
	ctx := context.Background()
	j, err := s.Submit(ctx, "acct", Spec{Inputs: []string{"s3://data/in/"}, Out: "s3://data/" + out,
		Phases: []Phase{{Type: Map, App: "wc"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{waitReached(t, h, "the first task"): true}
	got[waitReached(t, h, "the second task while the first one's commit is held (the slot was not handed on)")] = true
	select {
	case k := <-h.reached:
		t.Fatalf("%s reached its commit with 2 commits held and MaxCommitting 2", k)
	case <-time.After(time.Second):
	}
	if now, err := s.Get(ctx, "acct", j.ID); err != nil || now.Phases[0].Pending != 1 || now.Phases[0].Running != 3 {
		t.Fatalf("with 2 commits held and the third task holding the slot: %+v %v, want 3 running and 1 pending", now, err)
	}
	open.Do(func() { close(gate) })
	for len(got) < n {
		got[waitReached(t, h, "the other tasks after the commits were let go")] = true
	}
	var final Job
	err = s.Watch(ctx, "acct", j.ID, 10*time.Millisecond, func(j Job) error { final = j; return nil })
	if err != nil || final.State != Succeeded || final.Phases[0].Succeeded != n {
		t.Fatalf("job: %+v %v", final, err)
	}
}
