package auth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// TestReusedNameGetsNewID: a removed account's name, reused, comes with a
// new id, so it matches none of the old account's owner fields.
func TestReusedNameGetsNewID(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	old, err := a.Add(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !IsID(old.ID) || nameRE.MatchString(old.ID) {
		t.Fatalf("id %q: not an id, or could be a name", old.ID)
	}
	cred, err := a.Lookup(ctx, old.Keys[0].AccessKey)
	if err != nil || cred.AccountID != old.ID || cred.Account != "alice" {
		t.Fatalf("Lookup: %+v %v", cred, err)
	}
	if err := a.Remove(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ByID(ctx, old.ID); !errors.Is(err, ErrNoSuchAccount) {
		t.Fatalf("ByID of a removed account: %v", err)
	}
	again, err := a.Add(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == old.ID || Owns(again.ID, old.ID) {
		t.Fatalf("reused name kept id %s", again.ID)
	}
	if _, err := a.ByID(ctx, old.ID); !errors.Is(err, ErrNoSuchAccount) {
		t.Fatalf("old id resolves to the new alice: %v", err)
	}
	if name, err := a.NameOf(ctx, again.ID); err != nil || name != "alice" {
		t.Fatalf("NameOf: %q %v", name, err)
	}
}

// TestMigrateKeepsNameAsID: accounts stored before ids existed get their
// name as id, persisted once; root's id is "root".
func TestMigrateKeepsNameAsID(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	legacy := `{"name":"bob","root":false,"created":"2026-01-01T00:00:00Z","keys":[{"access_key":"INBOB","secret_key":"s","created":"2026-01-01T00:00:00Z"}],"caps":{"Memory":1048576,"Timeout":60000000000}}`
	if err := a.kv.Put(ctx, accountKey("bob"), []byte(legacy)); err != nil {
		t.Fatal(err)
	}
	if err := a.kv.Put(ctx, accessKeyKey("INBOB"), []byte("bob")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.EnsureRoot(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	raw, err := a.kv.Get(ctx, accountKey("bob"))
	if err != nil {
		t.Fatal(err)
	}
	var stored Account
	if err := json.Unmarshal(raw, &stored); err != nil || stored.ID != "bob" {
		t.Fatalf("stored id %q %v, want the name", stored.ID, err)
	}
	caps, ok, err := a.Caps(ctx, "bob")
	if err != nil || !ok || caps.Memory != 1<<20 || caps.Timeout.Seconds() != 60 {
		t.Fatalf("caps stored as sandbox.Limits JSON: %+v %v %v", caps, ok, err)
	}
	if cred, err := a.Lookup(ctx, "INBOB"); err != nil || cred.AccountID != "bob" {
		t.Fatalf("Lookup: %+v %v", cred, err)
	}
	if root, err := a.Get(ctx, RootName); err != nil || root.ID != RootName {
		t.Fatalf("root id %q %v", root.ID, err)
	}
	if err := a.Remove(ctx, "bob", nil); err != nil {
		t.Fatal(err)
	}
	bob, err := a.Add(ctx, "bob")
	if err != nil || bob.ID == "bob" {
		t.Fatalf("new bob id %q %v", bob.ID, err)
	}
}

// TestRemoveRefusesWhileOwning: an account that owns something stays.
func TestRemoveRefusesWhileOwning(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	acct, err := a.Add(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	var asked string
	owned := func(_ context.Context, id string) (Holdings, error) {
		asked = id
		return Holdings{Buckets: 2, Services: 1}, nil
	}
	err = a.Remove(ctx, "carol", owned)
	if !errors.Is(err, ErrAccountInUse) || !strings.Contains(err.Error(), "2 bucket(s), 0 app version(s), 1 service(s), 0 instance(s)") {
		t.Fatalf("Remove while owning: %v", err)
	}
	if asked != acct.ID {
		t.Fatalf("holdings asked for %q, want the id %q", asked, acct.ID)
	}
	if _, err := a.Get(ctx, "carol"); err != nil {
		t.Fatalf("carol gone after a refused Remove: %v", err)
	}
	if err := a.Remove(ctx, "carol", func(context.Context, string) (Holdings, error) { return Holdings{}, nil }); err != nil {
		t.Fatal(err)
	}
}

// getCounting counts the Gets of keys under a prefix.
type getCounting struct {
	meta.Store
	prefix string
	n      int
}

func (g *getCounting) Get(ctx context.Context, key string) ([]byte, error) {
	if strings.HasPrefix(key, g.prefix) {
		g.n++
	}
	return g.Store.Get(ctx, key)
}

// TestNameIDCostsNoLookup: an id that is a (migrated) name has no
// "accountids/" entry, so resolving it reads none; a generated id does.
func TestNameIDCostsNoLookup(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t)
	if _, _, err := a.EnsureRoot(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	alice, err := a.Add(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	counting := &getCounting{Store: a.kv, prefix: "accountids/"}
	a.kv = counting
	if acct, err := a.ByID(ctx, "root"); err != nil || acct.Name != "root" {
		t.Fatalf("ByID(root): %+v %v", acct, err)
	}
	if counting.n != 0 {
		t.Fatalf("root's id read %d accountids/ entries", counting.n)
	}
	if acct, err := a.ByID(ctx, alice.ID); err != nil || acct.Name != "alice" {
		t.Fatalf("ByID(alice): %+v %v", acct, err)
	}
	if counting.n != 1 {
		t.Fatalf("a generated id read %d accountids/ entries, want 1", counting.n)
	}
}
