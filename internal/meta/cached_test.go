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
		e := c.m["keys/AK2"]
		return e != nil && string(e.raw) == "dave"
	})
	if err := c.CompareAndSwap(ctx, "keys/AK2", []byte("stale"), []byte("x")); !errors.Is(err, ErrConflict) {
		t.Fatalf("CAS with a stale expectation: %v", err)
	}
}

// Decoded decodes a cached key once per stored value, and a new value,
// written through the Cached store or beside it, is decoded afresh: on
// the next call for an own write, once its watch event arrives for
// another node's. A key outside the cached prefixes is decoded each time.
func TestCachedDecoded(t *testing.T) {
	ctx := context.Background()
	under, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := NewCached(under, "accounts/")
	defer c.Close()
	decodes := 0
	decode := func(b []byte) (any, error) { decodes++; return "decoded " + string(b), nil }
	get := func(k string) string {
		t.Helper()
		v, err := GetDecoded(ctx, c, k, decode)
		if err != nil {
			t.Fatal(err)
		}
		return v.(string)
	}
	if err := c.Put(ctx, "accounts/a", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); c.cached("accounts/a") == nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watch never filled the cache")
		}
	}
	decodes = 0
	for range 3 {
		if v := get("accounts/a"); v != "decoded v1" {
			t.Fatalf("got %q", v)
		}
	}
	if decodes != 1 {
		t.Fatalf("%d decodes of one stored value, want 1", decodes)
	}
	if err := c.Put(ctx, "accounts/a", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if v := get("accounts/a"); v != "decoded v2" { // own write: at once
		t.Fatalf("after an own write: %q", v)
	}
	if err := under.Put(ctx, "accounts/a", []byte("v3")); err != nil { // another node
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); get("accounts/a") != "decoded v3"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("another node's write never seen")
		}
	}
	if err := c.Delete(ctx, "accounts/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := GetDecoded(ctx, c, "accounts/a", decode); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := c.Put(ctx, "other/x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	decodes = 0
	get("other/x")
	get("other/x")
	if decodes != 2 {
		t.Fatalf("uncached key decoded %d times for 2 calls", decodes)
	}
}
