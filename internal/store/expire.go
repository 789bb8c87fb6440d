package store

import "context"

// Expirer is implemented by engines that can expire an object as a
// lifecycle rule does: ExpireObject removes bucket/key's current version
// only if it is still the one seen (same ETag, size and LastModified),
// so a write that raced the rule's evaluation is never lost. In a bucket
// with versioning set, removing means a delete marker in front of it, as
// DeleteObject does. It reports whether it changed anything; a key gone
// or behind a delete marker is (false, nil). A cluster's engine may
// report (true, err): removed, but not yet at a quorum of replicas.
// Safe for concurrent use.
type Expirer interface {
	ExpireObject(ctx context.Context, bucket, key string, seen ObjectInfo) (bool, error)
}

// VersionExpirer is implemented by engines with versioning (Versioned)
// that can expire versions as lifecycle rules do, each checked under the
// key's commit lock: ExpireNoncurrent removes version id only while a
// newer version is the latest (a version that became current again, its
// successors deleted, is kept); ExpireDeleteMarker removes the delete
// marker id only while it is the latest and no older version is left
// behind it. Both report whether they removed anything.
type VersionExpirer interface {
	ExpireNoncurrent(ctx context.Context, bucket, key, id string) (bool, error)
	ExpireDeleteMarker(ctx context.Context, bucket, key, id string) (bool, error)
}
