package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/insitu-cloud/insitu/internal/store"
)

// ErrNotOwner means the account does not own the resource. Each face maps
// it to its own refusal (S3 AccessDenied, runs.ErrAccessDenied, a 404 for
// services and apps that must not reveal they exist).
var ErrNotOwner = errors.New("auth: not the owner")

// Owns is the one ownership rule: the account with id accountID owns a
// resource whose stored owner is owner. Owners are account ids, never
// names, so a later account that reuses a removed account's name owns
// nothing of the old one's. Root has no special rights here.
func Owns(accountID, owner string) bool {
	return accountID != "" && accountID == owner
}

// BucketGetter is the part of store.Engine OwnsBucket needs.
type BucketGetter interface {
	GetBucket(ctx context.Context, name string) (store.BucketInfo, error)
}

// OwnsBucket returns nil when accountID owns bucket, the engine's error
// (store.ErrNoSuchBucket, ...) when the bucket cannot be read, and an
// error wrapping ErrNotOwner otherwise.
func OwnsBucket(ctx context.Context, engine BucketGetter, accountID, bucket string) error {
	info, err := engine.GetBucket(ctx, bucket)
	if err != nil {
		return err
	}
	if !Owns(accountID, info.Owner) {
		return fmt.Errorf("%w: bucket %s", ErrNotOwner, bucket)
	}
	return nil
}
