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
