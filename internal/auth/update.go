package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// maxUpdateTries bounds the compare-and-swap retries of one account update;
// only a pathological storm of concurrent writers to one account exhausts it.
const maxUpdateTries = 100

// errNoChange tells update that fn left the account as it was.
var errNoChange = errors.New("auth: no change")

// update applies fn to the stored account name and writes the result with
// a compare-and-swap, re-reading and re-applying fn when another writer got
// there first, so concurrent updates never lose each other's writes. fn may
// be called several times and must derive everything from the account it
// is given. With create, a missing account reaches fn as the zero Account
// and is created. Keys new in the result are indexed before the swap (and
// unindexed if it fails); keys it dropped are unindexed after, so a crash
// leaves at worst a dangling index entry, which Lookup ignores.
func (a *Accounts) update(ctx context.Context, name string, create bool, fn func(*Account) error) (Account, error) {
	for try := 0; try < maxUpdateTries; try++ {
		cur, err := a.kv.Get(ctx, accountKey(name))
		var acct Account
		switch {
		case errors.Is(err, meta.ErrNotFound) && create:
			cur = nil
		case errors.Is(err, meta.ErrNotFound):
			return Account{}, ErrNoSuchAccount
		case err != nil:
			return Account{}, err
		default:
			if err := json.Unmarshal(cur, &acct); err != nil {
				return Account{}, fmt.Errorf("auth: decode account %s: %w", name, err)
			}
		}
		old := acct
		old.Keys = append([]Key(nil), acct.Keys...)
		if err := fn(&acct); errors.Is(err, errNoChange) {
			return acct, nil
		} else if err != nil {
			return Account{}, err
		}
		done, err := a.swap(ctx, name, cur, old, acct)
		if err != nil || done {
			return acct, err
		}
	}
	return Account{}, fmt.Errorf("auth: account %s: too many concurrent updates", name)
}

// swap writes acct over the stored value cur (whose account is old),
// maintaining the key index. It reports false when another writer changed
// the account first.
func (a *Accounts) swap(ctx context.Context, name string, cur []byte, old, acct Account) (bool, error) {
	b, err := json.Marshal(acct)
	if err != nil {
		return false, err
	}
	added := newKeys(old.Keys, acct.Keys)
	for _, k := range added {
		if err := a.kv.Put(ctx, accessKeyKey(k.AccessKey), []byte(name)); err != nil {
			return false, err
		}
	}
	err = a.kv.CompareAndSwap(ctx, accountKey(name), cur, b)
	if errors.Is(err, meta.ErrConflict) {
		return false, a.unindex(ctx, added)
	}
	if err != nil {
		return false, err
	}
	return true, a.unindex(ctx, newKeys(acct.Keys, old.Keys))
}

// newKeys returns the keys of next that are not in prev.
func newKeys(prev, next []Key) []Key {
	var out []Key
	for _, k := range next {
		if !hasKey(prev, k.AccessKey) {
			out = append(out, k)
		}
	}
	return out
}

func (a *Accounts) unindex(ctx context.Context, keys []Key) error {
	for _, k := range keys {
		if err := a.kv.Delete(ctx, accessKeyKey(k.AccessKey)); err != nil {
			return err
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

// EnsureRoot makes sure the root account exists and holds the given key,
// after giving accounts stored before ids existed their id (Migrate).
// With an empty accessKey it keeps whatever root key exists, generating
// one on first start; created reports whether a key was generated.
func (a *Accounts) EnsureRoot(ctx context.Context, accessKey, secret string) (key Key, created bool, err error) {
	if err := a.Migrate(ctx); err != nil {
		return Key{}, false, err
	}
	_, err = a.update(ctx, RootName, true, func(acct *Account) error {
		if acct.Name == "" {
			*acct = Account{Name: RootName, ID: RootName, Root: true, Created: a.now().UTC()}
		}
		created = false
		switch {
		case accessKey == "" && len(acct.Keys) > 0:
			key = acct.Keys[0]
			return errNoChange
		case accessKey == "":
			key, created = newKey(a.now()), true
		case len(acct.Keys) == 1 && acct.Keys[0].AccessKey == accessKey && acct.Keys[0].Secret == secret:
			key = acct.Keys[0]
			return errNoChange
		default:
			key = Key{AccessKey: accessKey, Secret: secret, Created: a.now().UTC()}
		}
		acct.Keys = []Key{key}
		return nil
	})
	if err != nil {
		return Key{}, false, err
	}
	return key, created, nil
}

// Rotate gives the account a new key and revokes the previous ones.
func (a *Accounts) Rotate(ctx context.Context, name string) (Key, error) {
	var key Key
	_, err := a.update(ctx, name, false, func(acct *Account) error {
		key = newKey(a.now())
		acct.Keys = []Key{key}
		return nil
	})
	if err != nil {
		return Key{}, err
	}
	return key, nil
}

// SetCaps sets (nil: clears) the account's run-limit ceilings.
func (a *Accounts) SetCaps(ctx context.Context, name string, caps *Caps) (Account, error) {
	return a.update(ctx, name, false, func(acct *Account) error {
		acct.Caps = caps
		return nil
	})
}

// Caps returns the ceilings of the account with id, if it has any. An
// error (a missing account included) must refuse the run: running
// uncapped is not a fallback.
func (a *Accounts) Caps(ctx context.Context, id string) (Caps, bool, error) {
	acct, err := a.sharedByID(ctx, id)
	if err != nil {
		return Caps{}, false, err
	}
	if acct.Caps == nil {
		return Caps{}, false, nil
	}
	return *acct.Caps, true, nil
}

// Holdings counts what an account owns.
type Holdings struct{ Buckets, Apps, Services, Instances int }

func (h Holdings) empty() bool { return h == Holdings{} }

// ErrAccountInUse refuses to remove an account that still owns something.
var ErrAccountInUse = errors.New("auth: the account still owns resources")

// Remove deletes an account and revokes its keys. Root cannot be removed.
// When owned is set, Remove refuses with ErrAccountInUse (and the counts)
// while owned reports anything for the account's id, the way S3 refuses to
// delete a non-empty bucket. Whatever slips past (created between the
// count and the removal) stays with the old id: a later account of the
// same name gets a new id and owns none of it; only the data directory's
// operator can reach it.
func (a *Accounts) Remove(ctx context.Context, name string, owned func(ctx context.Context, id string) (Holdings, error)) error {
	for try := 0; try < maxUpdateTries; try++ {
		cur, err := a.kv.Get(ctx, accountKey(name))
		if errors.Is(err, meta.ErrNotFound) {
			return ErrNoSuchAccount
		}
		if err != nil {
			return err
		}
		acct, err := decodeAccount(name, cur)
		if err != nil {
			return err
		}
		if err := a.removable(ctx, acct, owned); err != nil {
			return err
		}
		err = a.kv.CompareAndSwap(ctx, accountKey(name), cur, nil)
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		return a.unindex(ctx, acct.Keys)
	}
	return fmt.Errorf("auth: account %s: too many concurrent updates", name)
}

func (a *Accounts) removable(ctx context.Context, acct Account, owned func(ctx context.Context, id string) (Holdings, error)) error {
	if acct.Root {
		return ErrRootImmutable
	}
	if owned == nil {
		return nil
	}
	h, err := owned(ctx, acct.ID)
	if err != nil {
		return err
	}
	if !h.empty() {
		return fmt.Errorf("%w: %s owns %d bucket(s), %d app version(s), %d service(s), %d instance(s); remove them first",
			ErrAccountInUse, acct.Name, h.Buckets, h.Apps, h.Services, h.Instances)
	}
	return nil
}
