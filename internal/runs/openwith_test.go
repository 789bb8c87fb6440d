package runs_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// owFixture is a runs.Service over real local stores (no sandbox: these
// tests never run a guest).
type owFixture struct {
	svc    *runs.Service
	engine store.Engine
	kv     meta.Store
	apps   *apps.Registry
}

func newOWFixture(t *testing.T) *owFixture {
	t.Helper()
	ctx, dir := context.Background(), t.TempDir()
	kv, err := meta.OpenLocal(filepath.Join(dir, "control"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	engine, err := local.Open(ctx, filepath.Join(dir, "store"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	reg, err := apps.New(kv, filepath.Join(dir, "apps"))
	if err != nil {
		t.Fatal(err)
	}
	return &owFixture{svc: runs.New(runs.Config{Engine: engine, Apps: reg, KV: kv}), engine: engine, kv: kv, apps: reg}
}

func (f *owFixture) pushUpper(t *testing.T, owner string, public bool) {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "..", "examples", "apps", "upper", "upper.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.apps.Push(context.Background(), owner, "upper", "1", wasm, apps.Manifest{Public: public}); err != nil {
		t.Fatal(err)
	}
}

// TestOpenWithIgnoresBindingOfEarlierBucket is the defence in depth behind
// the DeleteBucket hook: a binding left behind (the hook never ran) is not
// used for a new bucket of the same name.
func TestOpenWithIgnoresBindingOfEarlierBucket(t *testing.T) {
	ctx := context.Background()
	f := newOWFixture(t)
	f.pushUpper(t, "alice", true)
	if err := f.engine.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetOpenWith(ctx, "alice", "b", "*/*", "alice/upper"); err != nil {
		t.Fatal(err)
	}
	if app, err := f.svc.LookupOpenWith(ctx, "b", "text/plain"); err != nil || app != "alice/upper" {
		t.Fatalf("alice's own binding: %q %v", app, err)
	}
	if err := f.engine.DeleteBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := f.engine.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "bob"}); err != nil {
		t.Fatal(err)
	}
	if app, err := f.svc.LookupOpenWith(ctx, "b", "text/plain"); !errors.Is(err, runs.ErrNoOpenWith) {
		t.Fatalf("binding of the earlier bucket used: %q %v", app, err)
	}
	if list, err := f.svc.ListOpenWith(ctx, "bob", "b"); err != nil || len(list) != 0 {
		t.Fatalf("bob's bindings: %+v %v", list, err)
	}
}

// TestForgetBucket removes a bucket's bindings and no other bucket's.
func TestForgetBucket(t *testing.T) {
	ctx := context.Background()
	f := newOWFixture(t)
	f.pushUpper(t, "alice", false)
	for _, b := range []string{"b", "bb"} {
		if err := f.engine.CreateBucket(ctx, store.BucketInfo{Name: b, Owner: "alice"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SetOpenWith(ctx, "alice", b, "text/*", "upper"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.ForgetBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if pairs, err := f.kv.List(ctx, "openwith/b/"); err != nil || len(pairs) != 0 {
		t.Fatalf("bindings of b left: %v %v", pairs, err)
	}
	if list, err := f.svc.ListOpenWith(ctx, "alice", "bb"); err != nil || len(list) != 1 {
		t.Fatalf("bindings of bb: %+v %v", list, err)
	}
	if err := f.svc.ForgetBucket(ctx, "x/y"); !errors.Is(err, runs.ErrBadRequest) {
		t.Fatalf("ForgetBucket(x/y): %v", err)
	}
}
