package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Local is what a node's own engine offers the cluster: the object engine,
// replica writes with stamps, and in-place files for runs.
type Local interface {
	store.Engine
	store.Replicas
	store.LocalFiles
	store.Versioned
	store.VersionExpirer
	store.ObjectLocker
	// SetVersionLock applies a lock change to one version in place, as a
	// replica (no bucket check; see store.LockChange).
	SetVersionLock(ctx context.Context, bucket, key, versionID string, ch store.LockChange) error
	// CompleteMultipartUploadVersion is CompleteMultipartUploadAt storing
	// the object as version versionID of the key (PutOptions.VersionID).
	CompleteMultipartUploadVersion(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart, stamp store.Stamp, versionID string) (store.ObjectInfo, error)
	// Version tombstones (see store/local's version_tomb.go): what is held
	// of one version id, installing a removal repair spreads (never over
	// a locked version: store.ErrObjectLocked), forgetting a tombstone
	// with exactly stamp, walking noncurrent versions then tombstones,
	// and forgetting a version's copy that moved (no tombstone).
	LookupVersion(ctx context.Context, bucket, key, id string) (store.VersionHeld, error)
	DropVersionCopy(ctx context.Context, bucket, key, id string, stamp store.Stamp) error
	// SetVersionACLAt sets a version's ACL as a stamped change (ignored
	// when not newer than the copy's ACLStamp); SyncVersionSettings gives
	// the copy with exactly stamp the newer ACL and lock settings of m.
	SetVersionACLAt(ctx context.Context, bucket, key, id, acl string, stamp store.Stamp) error
	SyncVersionSettings(ctx context.Context, bucket, key, id string, stamp store.Stamp, m store.ObjectMeta) error
	RemoveVersionReplica(ctx context.Context, tomb store.ObjectInfo) error
	DropVersionTomb(ctx context.Context, bucket, key, id string, stamp store.Stamp) error
	WalkVersions(ctx context.Context, fn func(store.ObjectInfo) error) error
}

// Engine is the store.Engine of a node in a cluster: buckets live in
// etcd; objects live on the nodes Place picks, written to all of them at
// once and acknowledged at a write quorum; reads take the newest stamp
// among the replicas. It is safe for concurrent use.
type Engine struct {
	c       *Cluster
	local   Local
	buckets *bucketCache
	chunks  chunkPool
}

// NewEngine returns the cluster engine over this node's local engine and
// registers the local engine for the internal API. Bucket records kept by
// a node that ran alone are published once, with their versioning state
// and Object Lock configuration, so upgrading a single node to a cluster keeps its buckets.
func NewEngine(ctx context.Context, c *Cluster, local Local) (*Engine, error) {
	e := &Engine{c: c, local: local, buckets: &bucketCache{m: map[string]bucketRecord{}}}
	c.local, c.engine = local, e
	bs, err := local.ListBuckets(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		rec, err := localBucketRecord(ctx, local, b)
		if err != nil {
			return nil, fmt.Errorf("cluster: publish bucket %s: %w", b.Name, err)
		}
		v, _ := json.Marshal(rec)
		if err := c.kv.CompareAndSwap(ctx, bucketKey(b.Name), nil, v); err != nil && !errors.Is(err, meta.ErrConflict) {
			return nil, fmt.Errorf("cluster: publish bucket %s: %w", b.Name, err)
		}
	}
	c.wg.Add(1)
	go e.watchBuckets()
	return e, nil
}

// localBucketRecord is the cluster record of bucket b kept by local.
func localBucketRecord(ctx context.Context, local Local, b store.BucketInfo) (bucketRecord, error) {
	state, err := local.BucketVersioning(ctx, b.Name)
	if err != nil {
		return bucketRecord{}, err
	}
	rec := bucketRecord{BucketInfo: b, Versioning: state}
	cfg, err := local.ObjectLockConfig(ctx, b.Name)
	switch {
	case err == nil:
		rec.ObjectLock = &cfg
	case !errors.Is(err, store.ErrNoObjectLockConfig):
		return bucketRecord{}, err
	}
	return rec, nil
}

func bucketKey(name string) string { return "buckets/" + name }

// CreateBucket implements store.Engine: one compare-and-swap in etcd.
func (e *Engine) CreateBucket(ctx context.Context, b store.BucketInfo) error {
	v, _ := json.Marshal(b)
	err := e.c.kv.CompareAndSwap(ctx, bucketKey(b.Name), nil, v)
	if errors.Is(err, meta.ErrConflict) {
		old, gerr := e.GetBucket(ctx, b.Name)
		if gerr == nil && old.Owner == b.Owner {
			return store.ErrBucketOwnedByYou
		}
		return store.ErrBucketExists
	}
	return err
}

// GetBucket implements store.Engine: from the watched cache, else etcd.
// A bucket deleted (or re-created by another account) through another
// node is seen here within the watch's latency, the window S3 itself
// documents for bucket changes.
func (e *Engine) GetBucket(ctx context.Context, bucket string) (store.BucketInfo, error) {
	rec, err := e.bucketRecord(ctx, bucket)
	return rec.BucketInfo, err
}

// bucketRecord returns a bucket's record from the watched cache, else
// etcd.
func (e *Engine) bucketRecord(ctx context.Context, bucket string) (bucketRecord, error) {
	if rec, ok := e.buckets.get(bucket); ok {
		return rec, nil
	}
	rec, _, err := e.readBucketRecord(ctx, bucket)
	return rec, err
}

// readBucket reads a bucket's record from etcd.
func (e *Engine) readBucket(ctx context.Context, bucket string) (store.BucketInfo, error) {
	rec, _, err := e.readBucketRecord(ctx, bucket)
	return rec.BucketInfo, err
}

// readBucketRecord reads a bucket's record from etcd, with the value read
// (for a compare-and-swap).
func (e *Engine) readBucketRecord(ctx context.Context, bucket string) (bucketRecord, []byte, error) {
	var rec bucketRecord
	v, err := e.c.kv.Get(ctx, bucketKey(bucket))
	if errors.Is(err, meta.ErrNotFound) {
		return rec, nil, store.ErrNoSuchBucket
	}
	if err != nil {
		return rec, nil, err
	}
	return rec, v, json.Unmarshal(v, &rec)
}

// ListBuckets implements store.Engine.
func (e *Engine) ListBuckets(ctx context.Context) ([]store.BucketInfo, error) {
	pairs, err := e.c.kv.List(ctx, "buckets/")
	if err != nil {
		return nil, err
	}
	out := make([]store.BucketInfo, 0, len(pairs))
	for _, p := range pairs {
		var b store.BucketInfo
		if json.Unmarshal(p.Value, &b) == nil {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteBucket implements store.Engine: refused while any live node lists
// an object, a version (with versioning) or an upload in it; then the record goes and every live node
// drops its local copy of the bucket.
func (e *Engine) DeleteBucket(ctx context.Context, bucket string) error {
	rec, _, err := e.readBucketRecord(ctx, bucket)
	if err != nil {
		return err
	}
	page, err := e.ListObjects(ctx, bucket, store.ListOptions{MaxKeys: 1})
	if err != nil {
		return err
	}
	if rec.Versioning != store.VersioningUnset {
		vs, err := e.ListObjectVersions(ctx, bucket, store.ListVersionsOptions{MaxKeys: 1})
		if err != nil {
			return err
		}
		if len(vs.Versions) > 0 || len(vs.CommonPrefixes) > 0 {
			return store.ErrBucketNotEmpty
		}
	}
	ups, err := e.listUploads(ctx, bucket, store.ListUploadsOptions{MaxUploads: 1}, true)
	if err != nil {
		return err
	}
	if len(page.Objects) > 0 || len(ups.Uploads) > 0 {
		return store.ErrBucketNotEmpty
	}
	if err := e.c.kv.Delete(ctx, bucketKey(bucket)); err != nil {
		return err
	}
	// Best effort: a node that misses the drop drops the bucket at its
	// next repair pass, which checks every bucket it holds against etcd.
	_ = e.eachLive(ctx, func(ctx context.Context, n NodeStatus) error {
		var err error
		if n.Name == e.c.Name() {
			err = e.local.DropBucket(ctx, bucket)
		} else {
			err = e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"dropbucket", keyArgs{Bucket: bucket}, nil)
		}
		if err != nil {
			e.c.log.Warn("delete bucket: a node did not drop its copy yet", "node", n.Name, "bucket", bucket, "err", err)
		}
		return nil
	})
	return nil
}

// Close implements store.Engine; the local engine is closed by its owner.
func (e *Engine) Close() error { return nil }

// bucketExists returns ErrNoSuchBucket unless the bucket is in etcd
// (the watched cache first).
func (e *Engine) bucketExists(ctx context.Context, bucket string) error {
	if _, ok := e.buckets.get(bucket); ok {
		return nil
	}
	_, err := e.readBucket(ctx, bucket)
	return err
}
