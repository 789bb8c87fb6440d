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
)

// RootName is the name of the account created at first start. It is also
// root's id: root cannot be removed, so its id is never reused.
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

// Account is an owner of buckets, apps and workloads. Name is the
// user-facing handle; ID is what every owner field stores and every
// ownership check compares (see Owns).
type Account struct {
	Name    string    `json:"name"`
	ID      string    `json:"id,omitempty"`
	Root    bool      `json:"root"`
	Created time.Time `json:"created"`
	Keys    []Key     `json:"keys"`
	// Caps, when set, replace the node's default ceilings on this account's
	// run limits, field by field.
	Caps *Caps `json:"caps,omitempty"`
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
	acct, err := a.shared(ctx, string(name))
	if errors.Is(err, ErrNoSuchAccount) {
		return sigv4.Credential{}, fmt.Errorf("%w: %s", sigv4.ErrUnknownKey, accessKey)
	}
	if err != nil {
		// A store failure is not an unknown key: the verifier answers 500.
		return sigv4.Credential{}, fmt.Errorf("auth: looking up the account of %s: %w", accessKey, err)
	}
	for _, k := range acct.Keys {
		if k.AccessKey == accessKey {
			return sigv4.Credential{AccessKey: k.AccessKey, Secret: k.Secret, Account: acct.Name, AccountID: acct.ID}, nil
		}
	}
	return sigv4.Credential{}, fmt.Errorf("%w: %s", sigv4.ErrUnknownKey, accessKey)
}

// Get returns the named account.
func (a *Accounts) Get(ctx context.Context, name string) (Account, error) {
	acct, err := a.shared(ctx, name)
	if err != nil {
		return Account{}, err
	}
	return acct.clone(), nil
}

// shared returns the named account as the store keeps it decoded: on a
// node whose store is a meta.Cached, decoded once per stored value and
// shared by every caller, so it must not be modified (Get clones it).
func (a *Accounts) shared(ctx context.Context, name string) (*Account, error) {
	v, err := meta.GetDecoded(ctx, a.kv, accountKey(name), func(b []byte) (any, error) {
		acct, err := decodeAccount(name, b)
		return &acct, err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil, ErrNoSuchAccount
	}
	if err != nil {
		return nil, err
	}
	return v.(*Account), nil
}

// clone returns a copy of acct that shares nothing with it.
func (acct *Account) clone() Account {
	c := *acct
	c.Keys = append([]Key(nil), acct.Keys...)
	if acct.Caps != nil {
		caps := *acct.Caps
		c.Caps = &caps
	}
	return c
}

// decodeAccount decodes a stored account; one stored before accounts had
// ids gets its name as id (see Migrate).
func decodeAccount(name string, b []byte) (Account, error) {
	var acct Account
	if err := json.Unmarshal(b, &acct); err != nil {
		return Account{}, fmt.Errorf("auth: decode account %s: %w", name, err)
	}
	if acct.ID == "" {
		acct.ID = acct.Name
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
		acct, err := decodeAccount(p.Key, p.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, acct)
	}
	return out, nil
}

// Add creates an account with one fresh key and a new id, never used by
// any account before (a later account of a removed account's name owns
// nothing of the old one's).
func (a *Accounts) Add(ctx context.Context, name string) (Account, error) {
	if !nameRE.MatchString(name) {
		return Account{}, ErrInvalidName
	}
	id, err := a.newID(ctx, name)
	if err != nil {
		return Account{}, err
	}
	acct := Account{Name: name, ID: id, Created: a.now().UTC(), Keys: []Key{newKey(a.now())}}
	b, err := json.Marshal(acct)
	if err != nil {
		return Account{}, err
	}
	if err := a.kv.Put(ctx, accessKeyKey(acct.Keys[0].AccessKey), []byte(name)); err != nil {
		return Account{}, err
	}
	if err := a.kv.CompareAndSwap(ctx, accountKey(name), nil, b); err != nil {
		_ = a.kv.Delete(ctx, accessKeyKey(acct.Keys[0].AccessKey))
		if errors.Is(err, meta.ErrConflict) {
			return Account{}, ErrAccountExists
		}
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
