package meta

import (
	"context"
	"errors"
	"testing"
	"time"
)

// countingStore counts the Gets that reach the underlying store.
type countingStore struct {
	Store
	gets int
}

func (s *countingStore) Get(ctx context.Context, key string) ([]byte, error) {
	s.gets++
	return s.Store.Get(ctx, key)
}

// Under a TrustAbsence prefix a missing key is answered from memory, and
// this node still reads its own write (and delete) at once.
func TestCachedTrustAbsence(t *testing.T) {
	ctx := context.Background()
	local, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	under := &countingStore{Store: local}
	c := NewCached(under, "acl/")
	c.TrustAbsence("acl/")
	defer c.Close()
	for deadline := time.Now().Add(5 * time.Second); c.cached("acl/x") == nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("cache never loaded")
		}
	}
	if _, err := c.Get(ctx, "acl/x"); !errors.Is(err, ErrNotFound) || under.gets != 0 {
		t.Fatalf("missing key: err %v, %d store reads; want ErrNotFound from memory", err, under.gets)
	}
	if err := c.Put(ctx, "acl/x", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "acl/x"); err != nil || string(v) != "v" {
		t.Fatalf("own write read back %q, %v", v, err)
	}
	if err := c.Delete(ctx, "acl/x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "acl/x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("own delete read back err %v", err)
	}
}

// Under a TrustAbsence prefix a key this node wrote is served from memory
// again once its watch event is in, whether the event arrived before or
// after the write returned: no store read per lookup for good.
func TestCachedTrustAbsenceSettles(t *testing.T) {
	ctx := context.Background()
	local, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := NewCached(local, "acl/")
	c.TrustAbsence("acl/")
	defer c.Close()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited for %s", what)
			}
		}
	}
	waitFor("the cache to load", func() bool { return c.cached("acl/x") == absent })
	for i := 0; i < 20; i++ {
		v := []byte{byte('a' + i)}
		if err := c.Put(ctx, "acl/x", v); err != nil {
			t.Fatal(err)
		}
		waitFor("a written key to be served from memory", func() bool {
			e := c.cached("acl/x")
			return e != nil && e != unknown && string(e.raw) == string(v)
		})
		if err := c.Delete(ctx, "acl/x"); err != nil {
			t.Fatal(err)
		}
		waitFor("a deleted key to be known absent", func() bool { return c.cached("acl/x") == absent })
	}
}
