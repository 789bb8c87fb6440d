package meta

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Lookup answers a missing key from memory once the prefix is loaded,
// never answers "absent" for a key this node just wrote (until its watch
// event arrives), and sees another node's writes and deletes.
func TestCachedLookup(t *testing.T) {
	for _, slow := range []bool{false, true} {
		t.Run(map[bool]string{false: "fast", true: "event-before-return"}[slow], func(t *testing.T) { testCachedLookup(t, slow) })
	}
}

// slowWrites returns from each write only after a pause, so the write's
// watch event arrives before the write returns (as it may in etcd).
type slowWrites struct{ Store }

func (s slowWrites) Put(ctx context.Context, k string, v []byte) error {
	defer time.Sleep(50 * time.Millisecond)
	return s.Store.Put(ctx, k, v)
}

func (s slowWrites) Delete(ctx context.Context, k string) error {
	defer time.Sleep(50 * time.Millisecond)
	return s.Store.Delete(ctx, k)
}

func testCachedLookup(t *testing.T, slow bool) {
	ctx := context.Background()
	var under Store
	local, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	under = local
	if slow {
		under = slowWrites{local}
	}
	c := NewCached(under, "cors/")
	defer c.Close()
	decode := func(b []byte) (any, error) { return string(b), nil }
	look := func(k string) (string, bool) {
		t.Helper()
		v, known, err := c.Lookup(k, decode)
		switch {
		case !known:
			return "", false
		case errors.Is(err, ErrNotFound):
			return "<none>", true
		case err != nil:
			t.Fatal(err)
		}
		return v.(string), true
	}
	eventually := func(what, key, want string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			if v, known := look(key); known && v == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited for %s", what)
			}
		}
	}
	if _, known := look("other/x"); known {
		t.Fatal("a key outside the cached prefixes is known")
	}
	eventually("the prefix to load", "cors/a", "<none>")
	if err := c.Put(ctx, "cors/a", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if v, known := look("cors/a"); known && v != "v1" {
		t.Fatalf("own write answered %q from memory", v)
	}
	eventually("the own write's event", "cors/a", "v1")
	if err := under.Put(ctx, "cors/a", []byte("v2")); err != nil { // another node
		t.Fatal(err)
	}
	eventually("another node's write", "cors/a", "v2")
	if err := c.Delete(ctx, "cors/a"); err != nil {
		t.Fatal(err)
	}
	if v, known := look("cors/a"); known && v != "<none>" {
		t.Fatalf("own delete answered %q from memory", v)
	}
	eventually("the own delete's event", "cors/a", "<none>")
}
