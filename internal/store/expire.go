package store

import "context"

// Expirer is implemented by engines that can expire an object as a
// lifecycle rule does: ExpireObject removes bucket/key only if its current
// version is still the one seen (same ETag and LastModified), so a write
// that raced the rule's evaluation is never lost. It reports whether it
// removed anything; a key already gone is (false, nil). Safe for
// concurrent use.
type Expirer interface {
	ExpireObject(ctx context.Context, bucket, key string, seen ObjectInfo) (bool, error)
}
