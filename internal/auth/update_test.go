package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
)

// TestAccountsConcurrentUpdates races Rotate and SetCaps on one account:
// no write may be lost, so afterwards exactly the last rotated key works,
// the key index holds exactly that key and the caps are the last written.
func TestAccountsConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	first, err := a.Add(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	keys := make([]Key, n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			k, err := a.Rotate(ctx, "alice")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
		go func() {
			defer wg.Done()
			if _, err := a.SetCaps(ctx, "alice", &Caps{Memory: int64(i+1) << 20}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	final, err := a.SetCaps(ctx, "alice", &Caps{Memory: 99 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(final.Keys) != 1 {
		t.Fatalf("account holds %d keys, want 1: %+v", len(final.Keys), final.Keys)
	}
	live := final.Keys[0].AccessKey
	working := 0
	for _, k := range append(keys, first.Keys[0]) {
		_, err := a.Lookup(ctx, k.AccessKey)
		switch {
		case err == nil:
			working++
			if k.AccessKey != live {
				t.Errorf("revoked key %s still works", k.AccessKey)
			}
		case !errors.Is(err, sigv4.ErrUnknownKey):
			t.Errorf("Lookup(%s): %v", k.AccessKey, err)
		}
	}
	if working != 1 {
		t.Fatalf("%d keys work, want exactly the live one", working)
	}
	index, err := a.kv.List(ctx, "keys/")
	if err != nil {
		t.Fatal(err)
	}
	if len(index) != 1 || strings.TrimPrefix(index[0].Key, "keys/") != live {
		t.Fatalf("key index %v, want only %s", index, live)
	}
	caps, ok, err := a.Caps(ctx, final.ID)
	if err != nil || !ok || caps.Memory != 99<<20 {
		t.Fatalf("caps %+v %v %v, want the last written", caps, ok, err)
	}
}

// TestCapsReadError: a failed read is an error, never "no caps".
func TestCapsReadError(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	if _, _, err := a.Caps(ctx, "nobody"); !errors.Is(err, ErrNoSuchAccount) {
		t.Fatalf("Caps of a missing account: %v", err)
	}
	if err := a.kv.Put(ctx, accountKey("broken"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Caps(ctx, "broken"); err == nil {
		t.Fatal("Caps of an undecodable account: no error")
	}
}
