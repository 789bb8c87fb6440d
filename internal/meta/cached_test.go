package meta

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A Cached store reads its own writes at once, sees writes made beside it
// (another node's, through the underlying store) once their watch event
// arrives, and never serves a key deleted beside it after that.
func TestCached(t *testing.T) {
	ctx := context.Background()
	under, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := under.Put(ctx, "keys/AK1", []byte("alice")); err != nil {
		t.Fatal(err)
	}
	c := NewCached(under, "keys/")
	defer c.Close()
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited for %s", what)
			}
		}
	}
	get := func(k string) string {
		v, err := c.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			return "<none>"
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	if get("keys/AK1") != "alice" {
		t.Fatal("initial value")
	}
	if err := c.Put(ctx, "keys/AK1", []byte("bob")); err != nil {
		t.Fatal(err)
	}
	if v := get("keys/AK1"); v != "bob" {
		t.Fatalf("own write read back %q", v)
	}
	if err := under.Put(ctx, "keys/AK1", []byte("carol")); err != nil { // another node
		t.Fatal(err)
	}
	eventually("another node's write", func() bool { return get("keys/AK1") == "carol" })
	if err := under.Delete(ctx, "keys/AK1"); err != nil {
		t.Fatal(err)
	}
	eventually("another node's delete", func() bool { return get("keys/AK1") == "<none>" })
	// served from memory: the underlying store is not asked
	if err := under.Put(ctx, "keys/AK2", []byte("dave")); err != nil {
		t.Fatal(err)
	}
	eventually("a new key", func() bool { return get("keys/AK2") == "dave" })
	eventually("the new key kept in memory", func() bool {
		c.mu.RLock()
		defer c.mu.RUnlock()
		return string(c.m["keys/AK2"]) == "dave"
	})
	if err := c.CompareAndSwap(ctx, "keys/AK2", []byte("stale"), []byte("x")); !errors.Is(err, ErrConflict) {
		t.Fatalf("CAS with a stale expectation: %v", err)
	}
}
