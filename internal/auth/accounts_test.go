package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/meta"
)

func newAccounts(t *testing.T) *Accounts {
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	return NewAccounts(kv)
}

func TestAccountsLifecycle(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	root, created, err := a.EnsureRoot(ctx, "", "")
	if err != nil || !created || root.AccessKey == "" || len(root.Secret) != 40 {
		t.Fatalf("EnsureRoot: %+v %v %v", root, created, err)
	}
	again, created, err := a.EnsureRoot(ctx, "", "")
	if err != nil || created || again.AccessKey != root.AccessKey {
		t.Fatalf("EnsureRoot again: %+v %v %v", again, created, err)
	}
	alice, err := a.Add(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Add(ctx, "alice"); !errors.Is(err, ErrAccountExists) {
		t.Fatalf("duplicate add: %v", err)
	}
	for _, bad := range []string{"", "Alice", "a/b", "-x", string(make([]byte, 70))} {
		if _, err := a.Add(ctx, bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Add(%q): %v", bad, err)
		}
	}
	cred, err := a.Lookup(ctx, alice.Keys[0].AccessKey)
	if err != nil || cred.Account != "alice" || cred.Secret != alice.Keys[0].Secret {
		t.Fatalf("Lookup: %+v %v", cred, err)
	}
	newKey, err := a.Rotate(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lookup(ctx, alice.Keys[0].AccessKey); !errors.Is(err, sigv4.ErrUnknownKey) {
		t.Fatalf("old key still valid after rotation: %v", err)
	}
	if c, err := a.Lookup(ctx, newKey.AccessKey); err != nil || c.Account != "alice" {
		t.Fatalf("new key: %+v %v", c, err)
	}
	if err := a.Remove(ctx, RootName, nil); !errors.Is(err, ErrRootImmutable) {
		t.Fatalf("remove root: %v", err)
	}
	if err := a.Remove(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lookup(ctx, newKey.AccessKey); !errors.Is(err, sigv4.ErrUnknownKey) {
		t.Fatalf("key of removed account: %v", err)
	}
	list, err := a.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != RootName || !list[0].Root {
		t.Fatalf("List: %+v %v", list, err)
	}
	// Configured root keys replace generated ones.
	k, _, err := a.EnsureRoot(ctx, "ROOTKEY", "rootsecret")
	if err != nil || k.AccessKey != "ROOTKEY" {
		t.Fatal(err)
	}
	if _, err := a.Lookup(ctx, root.AccessKey); !errors.Is(err, sigv4.ErrUnknownKey) {
		t.Fatalf("generated root key survived configured key: %v", err)
	}
}
