package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
)

// ErrBadCredentials means an access key and secret pair given in the
// clear (the dashboard's sign-in form) does not match any account's key.
// It does not say which half was wrong.
var ErrBadCredentials = errors.New("auth: wrong access key or secret key")

// CheckSecret verifies a secret given in the clear against the stored key,
// in constant time, and returns the key's credential. An unknown key and a
// wrong secret both give ErrBadCredentials; a store failure is returned
// as it is. It is the sign-in counterpart of sigv4 verification and reads
// through Lookup, the same path signed requests take.
func (a *Accounts) CheckSecret(ctx context.Context, accessKey, secret string) (sigv4.Credential, error) {
	cred, err := a.Lookup(ctx, accessKey)
	if errors.Is(err, sigv4.ErrUnknownKey) {
		return sigv4.Credential{}, ErrBadCredentials
	}
	if err != nil {
		return sigv4.Credential{}, fmt.Errorf("auth: checking key: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(cred.Secret), []byte(secret)) != 1 {
		return sigv4.Credential{}, ErrBadCredentials
	}
	return cred, nil
}
