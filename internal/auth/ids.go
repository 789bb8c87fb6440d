package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// Account ids. An account created by Add gets "AID" and 17 characters of
// A-Z 2-7: upper case, so it can never equal an account name (names are
// lower case, see nameRE). Accounts stored before ids existed keep their
// name as id (Migrate), so the owner fields already written stay valid;
// root's id is "root". An id is reserved in "accountids/<id>" -> name when
// it is handed out and the entry is never deleted, so an id is never
// reused, even after its account is removed.
var idRE = regexp.MustCompile(`^AID[A-Z2-7]{17}$`)

func accountIDKey(id string) string { return "accountids/" + id }

// IsID reports whether s has the form of an id Add hands out.
func IsID(s string) bool { return idRE.MatchString(s) }

// newID reserves a fresh id for the account name.
func (a *Accounts) newID(ctx context.Context, name string) (string, error) {
	for try := 0; try < maxUpdateTries; try++ {
		id := "AID" + randString(akAlphabet, 17)
		err := a.kv.CompareAndSwap(ctx, accountIDKey(id), nil, []byte(name))
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		return id, err
	}
	return "", errors.New("auth: could not reserve an account id")
}

// ByID returns the live account with id, or ErrNoSuchAccount.
func (a *Accounts) ByID(ctx context.Context, id string) (Account, error) {
	acct, err := a.sharedByID(ctx, id)
	if err != nil {
		return Account{}, err
	}
	return acct.clone(), nil
}

// sharedByID is ByID without the copy (see shared).
func (a *Accounts) sharedByID(ctx context.Context, id string) (*Account, error) {
	name, err := a.nameOfID(ctx, id)
	if err != nil {
		return nil, err
	}
	acct, err := a.shared(ctx, name)
	if err != nil {
		return nil, err
	}
	if acct.ID != id {
		return nil, ErrNoSuchAccount // the name now belongs to another account
	}
	return acct, nil
}

// nameOfID returns the name the account id was handed out for. Only an
// id of Add's form has an "accountids/" entry; any other id is a migrated
// account's name (ids and names never overlap), so it costs no lookup.
func (a *Accounts) nameOfID(ctx context.Context, id string) (string, error) {
	if !IsID(id) {
		return id, nil
	}
	b, err := a.kv.Get(ctx, accountIDKey(id))
	if errors.Is(err, meta.ErrNotFound) {
		return id, nil
	}
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// IDOf returns the id of the account named name.
func (a *Accounts) IDOf(ctx context.Context, name string) (string, error) {
	acct, err := a.shared(ctx, name)
	if err != nil {
		return "", err
	}
	return acct.ID, nil
}

// NameOf returns the name of the live account with id.
func (a *Accounts) NameOf(ctx context.Context, id string) (string, error) {
	acct, err := a.sharedByID(ctx, id)
	if err != nil {
		return "", err
	}
	return acct.Name, nil
}

// Migrate stores an id for every account that has none: its name, once,
// so the owner names written before ids existed stay valid owner ids.
// It is idempotent and safe to run while the node serves.
func (a *Accounts) Migrate(ctx context.Context) error {
	pairs, err := a.kv.List(ctx, "accounts/")
	if err != nil {
		return err
	}
	for _, p := range pairs {
		acct, err := decodeAccount(p.Key, p.Value)
		if err != nil {
			return err
		}
		if err := a.kv.CompareAndSwap(ctx, accountIDKey(acct.ID), nil, []byte(acct.Name)); err != nil && !errors.Is(err, meta.ErrConflict) {
			return err
		}
		_, err = a.update(ctx, acct.Name, false, func(acct *Account) error {
			if acct.ID != "" {
				return errNoChange
			}
			acct.ID = acct.Name
			return nil
		})
		if err != nil && !errors.Is(err, ErrNoSuchAccount) {
			return fmt.Errorf("auth: migrate %s: %w", acct.Name, err)
		}
	}
	return nil
}
