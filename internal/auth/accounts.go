package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// RootName is the name of the account created at first start.
const RootName = "root"

// Errors returned by Accounts.
var (
	ErrNoSuchAccount = errors.New("auth: no such account")
	ErrAccountExists = errors.New("auth: account already exists")
	ErrInvalidName   = errors.New("auth: invalid account name (1-64 of a-z 0-9 . _ -, starting with a letter or digit)")
	ErrRootImmutable = errors.New("auth: the root account cannot be removed")
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Key is one access key pair.
type Key struct {
	AccessKey string    `json:"access_key"`
	Secret    string    `json:"secret_key"`
	Created   time.Time `json:"created"`
}

// Account is an owner of buckets, apps and workloads.
type Account struct {
	Name    string    `json:"name"`
	Root    bool      `json:"root"`
	Created time.Time `json:"created"`
	Keys    []Key     `json:"keys"`
	// Caps, when set, replace the node's default ceilings on this account's
	// run limits, field by field.
	Caps *sandbox.Limits `json:"caps,omitempty"`
}

// Accounts manages accounts in a meta.Store.
type Accounts struct {
	kv  meta.Store
	now func() time.Time
}

// NewAccounts returns an Accounts over kv.
func NewAccounts(kv meta.Store) *Accounts {
	return &Accounts{kv: kv, now: time.Now}
}

func accountKey(name string) string { return "accounts/" + name }
func accessKeyKey(ak string) string { return "keys/" + ak }

// Lookup implements sigv4.KeyStore.
func (a *Accounts) Lookup(ctx context.Context, accessKey string) (sigv4.Credential, error) {
	name, err := a.kv.Get(ctx, accessKeyKey(accessKey))
	if errors.Is(err, meta.ErrNotFound) {
		return sigv4.Credential{}, fmt.Errorf("%w: %s", sigv4.ErrUnknownKey, accessKey)
	}
	if err != nil {
		return sigv4.Credential{}, fmt.Errorf("auth: looking up access key %s: %w", accessKey, err)
	}
	acct, err := a.Get(ctx, string(name))
	if errors.Is(err, ErrNoSuchAccount) {
		return sigv4.Credential{}, fmt.Errorf("%w: %s", sigv4.ErrUnknownKey, accessKey)
	}
	if err != nil {
		// A store failure is not an unknown key: the verifier answers 500.
		return sigv4.Credential{}, fmt.Errorf("auth: looking up the account of %s: %w", accessKey, err)
	}
	for _, k := range acct.Keys {
		if k.AccessKey == accessKey {
			return sigv4.Credential{AccessKey: k.AccessKey, Secret: k.Secret, Account: acct.Name}, nil
		}
	}
	return sigv4.Credential{}, fmt.Errorf("%w: %s", sigv4.ErrUnknownKey, accessKey)
}

// Get returns the named account.
func (a *Accounts) Get(ctx context.Context, name string) (Account, error) {
	b, err := a.kv.Get(ctx, accountKey(name))
	if errors.Is(err, meta.ErrNotFound) {
		return Account{}, ErrNoSuchAccount
	}
	if err != nil {
		return Account{}, err
	}
	var acct Account
	if err := json.Unmarshal(b, &acct); err != nil {
		return Account{}, fmt.Errorf("auth: decode account %s: %w", name, err)
	}
	return acct, nil
}

// List returns every account in name order.
func (a *Accounts) List(ctx context.Context) ([]Account, error) {
	pairs, err := a.kv.List(ctx, "accounts/")
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(pairs))
	for _, p := range pairs {
		var acct Account
		if err := json.Unmarshal(p.Value, &acct); err != nil {
			return nil, fmt.Errorf("auth: decode %s: %w", p.Key, err)
		}
		out = append(out, acct)
	}
	return out, nil
}

// EnsureRoot makes sure the root account exists and holds the given key.
// With an empty accessKey it keeps whatever root key exists, generating
// one on first start; created reports whether a key was generated.
func (a *Accounts) EnsureRoot(ctx context.Context, accessKey, secret string) (key Key, created bool, err error) {
	acct, err := a.Get(ctx, RootName)
	switch {
	case errors.Is(err, ErrNoSuchAccount):
		acct = Account{Name: RootName, Root: true, Created: a.now().UTC()}
	case err != nil:
		return Key{}, false, err
	}
	if accessKey == "" {
		if len(acct.Keys) > 0 {
			return acct.Keys[0], false, nil
		}
		key = newKey(a.now())
		created = true
	} else {
		key = Key{AccessKey: accessKey, Secret: secret, Created: a.now().UTC()}
		if len(acct.Keys) == 1 && acct.Keys[0].AccessKey == accessKey && acct.Keys[0].Secret == secret {
			return acct.Keys[0], false, nil
		}
	}
	old := acct.Keys
	acct.Keys = []Key{key}
	if err := a.save(ctx, acct, old); err != nil {
		return Key{}, false, err
	}
	return key, created, nil
}

// Add creates an account with one fresh key.
func (a *Accounts) Add(ctx context.Context, name string) (Account, error) {
	if !nameRE.MatchString(name) {
		return Account{}, ErrInvalidName
	}
	acct := Account{Name: name, Created: a.now().UTC(), Keys: []Key{newKey(a.now())}}
	b, err := json.Marshal(acct)
	if err != nil {
		return Account{}, err
	}
	if err := a.kv.CompareAndSwap(ctx, accountKey(name), nil, b); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return Account{}, ErrAccountExists
		}
		return Account{}, err
	}
	if err := a.kv.Put(ctx, accessKeyKey(acct.Keys[0].AccessKey), []byte(name)); err != nil {
		return Account{}, err
	}
	return acct, nil
}

// Remove deletes an account and revokes its keys. Buckets it owns stay and
// keep their owner name; only root can reach them afterwards.
func (a *Accounts) Remove(ctx context.Context, name string) error {
	acct, err := a.Get(ctx, name)
	if err != nil {
		return err
	}
	if acct.Root {
		return ErrRootImmutable
	}
	for _, k := range acct.Keys {
		if err := a.kv.Delete(ctx, accessKeyKey(k.AccessKey)); err != nil {
			return err
		}
	}
	return a.kv.Delete(ctx, accountKey(name))
}

// SetCaps sets (nil: clears) the account's run-limit ceilings.
func (a *Accounts) SetCaps(ctx context.Context, name string, caps *sandbox.Limits) (Account, error) {
	acct, err := a.Get(ctx, name)
	if err != nil {
		return Account{}, err
	}
	acct.Caps = caps
	b, err := json.Marshal(acct)
	if err != nil {
		return Account{}, err
	}
	return acct, a.kv.Put(ctx, accountKey(name), b)
}

// Caps returns the account's ceilings, if it has any.
func (a *Accounts) Caps(ctx context.Context, name string) (sandbox.Limits, bool) {
	acct, err := a.Get(ctx, name)
	if err != nil || acct.Caps == nil {
		return sandbox.Limits{}, false
	}
	return *acct.Caps, true
}

// Rotate gives the account a new key and revokes the previous ones.
func (a *Accounts) Rotate(ctx context.Context, name string) (Key, error) {
	acct, err := a.Get(ctx, name)
	if err != nil {
		return Key{}, err
	}
	old := acct.Keys
	key := newKey(a.now())
	acct.Keys = []Key{key}
	if err := a.save(ctx, acct, old); err != nil {
		return Key{}, err
	}
	return key, nil
}

// save writes acct, indexes its keys and drops the index of revoked keys.
// The new keys are indexed before the account record changes, and old ones
// removed after, so a crash leaves at worst a dangling index entry that
// Lookup ignores.
func (a *Accounts) save(ctx context.Context, acct Account, old []Key) error {
	for _, k := range acct.Keys {
		if err := a.kv.Put(ctx, accessKeyKey(k.AccessKey), []byte(acct.Name)); err != nil {
			return err
		}
	}
	b, err := json.Marshal(acct)
	if err != nil {
		return err
	}
	if err := a.kv.Put(ctx, accountKey(acct.Name), b); err != nil {
		return err
	}
	for _, k := range old {
		if !hasKey(acct.Keys, k.AccessKey) {
			if err := a.kv.Delete(ctx, accessKeyKey(k.AccessKey)); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasKey(keys []Key, ak string) bool {
	for _, k := range keys {
		if k.AccessKey == ak {
			return true
		}
	}
	return false
}

const (
	akAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	skAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// newKey returns a random access key ("IN" + 18 chars) and a 40-char secret.
func newKey(now time.Time) Key {
	return Key{AccessKey: "IN" + randString(akAlphabet, 18), Secret: randString(skAlphabet, 40), Created: now.UTC()}
}

func randString(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
