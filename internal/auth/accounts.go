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
		return sigv4.Credential{}, err
	}
	acct, err := a.Get(ctx, string(name))
	if err != nil {
		return sigv4.Credential{}, fmt.Errorf("%w: %s", sigv4.ErrUnknownKey, accessKey)
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
