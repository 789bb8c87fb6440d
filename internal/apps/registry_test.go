package apps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/insitu-cloud/insitu/internal/meta"
)

func exampleWasm(t *testing.T, name string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", "apps", name, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	r, err := New(kv, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wc, upper := exampleWasm(t, "wc"), exampleWasm(t, "upper")
	a1, err := r.Push(ctx, "alice", "tool", "1", wc, Manifest{Description: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Push(ctx, "alice", "tool", "1", wc, Manifest{}); err != nil {
		t.Fatalf("identical re-push: %v", err)
	}
	if _, err := r.Push(ctx, "alice", "tool", "1", upper, Manifest{}); !errors.Is(err, ErrAppExists) {
		t.Fatalf("different bytes under the same version: %v", err)
	}
	a2, err := r.Push(ctx, "alice", "tool", "", upper, Manifest{})
	if err != nil || a2.Version != "sha-"+a2.Digest[:12] {
		t.Fatalf("default version: %+v %v", a2, err)
	}
	if got, err := r.Resolve(ctx, "alice", "tool"); err != nil || got.Version != a2.Version {
		t.Fatalf("latest: %+v %v", got, err)
	}
	if got, err := r.Resolve(ctx, "alice", "tool:1"); err != nil || got.Digest != a1.Digest {
		t.Fatalf("pinned: %+v %v", got, err)
	}
	// Private apps are invisible to others; public ones resolve by owner.
	if _, err := r.Resolve(ctx, "bob", "alice/tool:1"); !errors.Is(err, ErrNoSuchApp) {
		t.Fatalf("bob sees a private app: %v", err)
	}
	if _, err := r.Push(ctx, "alice", "pub", "1", wc, Manifest{Public: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, "bob", "alice/pub"); err != nil {
		t.Fatalf("public app: %v", err)
	}
	// Bare names fall back to the system owner's public apps.
	if _, err := r.Push(ctx, SystemOwner, "wc", "1", wc, Manifest{Public: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Resolve(ctx, "bob", "wc"); err != nil || got.Owner != SystemOwner {
		t.Fatalf("fallback: %+v %v", got, err)
	}
	b, err := r.Module(a1.Digest)
	if err != nil || len(b) != len(wc) {
		t.Fatalf("Module: %d %v", len(b), err)
	}
	for _, bad := range [][3]string{{"Bad", "1"}, {"ok", "bad version!"}, {"", "1"}} {
		if _, err := r.Push(ctx, "alice", bad[0], bad[1], wc, Manifest{}); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Push(%q, %q): %v", bad[0], bad[1], err)
		}
	}
	if _, err := r.Push(ctx, "alice", "junk", "1", []byte("\x00asm junk"), Manifest{}); !errors.Is(err, ErrInvalidWasm) {
		t.Fatalf("junk module: %v", err)
	}
	// Removing the latest version points "latest" at the one before.
	if err := r.Remove(ctx, "alice", "tool", a2.Version); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Resolve(ctx, "alice", "tool"); err != nil || got.Version != "1" {
		t.Fatalf("latest after rm: %+v %v", got, err)
	}
	if err := r.Remove(ctx, "alice", "tool", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, "alice", "tool"); !errors.Is(err, ErrNoSuchApp) {
		t.Fatalf("after removing every version: %v", err)
	}
	if err := r.Remove(ctx, "alice", "tool", ""); !errors.Is(err, ErrNoSuchApp) {
		t.Fatalf("second remove: %v", err)
	}
	list, err := r.List(ctx, "bob", true)
	if err != nil || len(list) != 2 {
		t.Fatalf("bob's view: %+v %v", list, err)
	}
}
