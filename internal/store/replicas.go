package store

import (
	"context"
	"errors"
	"io"
)

// ErrSuperseded is returned by a replica write (a stamped put or delete)
// that lost to a newer or equal stamp already held for the key; nothing
// changed.
var ErrSuperseded = errors.New("store: superseded by a newer write")

// Stamp orders the writes of one key across the replicas of a cluster: a
// hybrid logical clock reading and the name of the node that made it. The
// zero Stamp is older than every other (objects a single node writes carry it).
type Stamp struct {
	HLC  uint64 `json:"h,omitempty"`
	Node string `json:"n,omitempty"`
}

// After reports whether s is newer than o: a larger HLC, or on equal HLCs
// the larger Node.
func (s Stamp) After(o Stamp) bool {
	if s.HLC != o.HLC {
		return s.HLC > o.HLC
	}
	return s.Node > o.Node
}

// IsZero reports whether s is the zero Stamp.
func (s Stamp) IsZero() bool { return s.HLC == 0 && s.Node == "" }

// Replicas is implemented by engines that hold object replicas for a
// cluster. Every method is safe for concurrent use; the stamp comparison of
// a write happens atomically with its commit (per key), so concurrent
// replica writes of one key end with the newest stamp's outcome whatever
// the order they arrive in.
type Replicas interface {
	// PutReplica stores r as the object info describes, keeping info's Size,
	// ETag, LastModified, Meta, Checksum, Parts and Stamp exactly as given
	// (the bytes get fresh block checksums in the data file; r must yield exactly
	// info.Size bytes, else ErrIncompleteBody and nothing changes). It installs
	// only if info.Stamp.After(what is held), else ErrSuperseded. The bucket is
	// created locally when missing (BucketInfo{Name: info.Bucket}).
	PutReplica(ctx context.Context, info ObjectInfo, r io.Reader) error
	// DeleteReplica records a tombstone carrying stamp for bucket/key (the object, if any,
	// is removed with its data file) when stamp.After(what is held); else ErrSuperseded.
	// The bucket is created locally when missing.
	DeleteReplica(ctx context.Context, bucket, key string, stamp Stamp) error
	// Lookup returns what is held for bucket/key: the object, or its tombstone
	// (Deleted true, Stamp set); ErrNoSuchKey when neither (also when the bucket is missing).
	Lookup(ctx context.Context, bucket, key string) (ObjectInfo, error)
	// Walk calls fn with every object and tombstone held, ordered by bucket then
	// key, starting strictly after (afterBucket, afterKey) ("" , "" = from the start).
	// It holds no lock while fn runs; an error from fn stops the walk and is returned.
	Walk(ctx context.Context, afterBucket, afterKey string, fn func(ObjectInfo) error) error
	// Drop forgets bucket/key (object with its data file, or tombstone) if what
	// is held carries exactly stamp; otherwise it does nothing and returns nil.
	Drop(ctx context.Context, bucket, key string, stamp Stamp) error
	// CompleteMultipartUploadAt is CompleteMultipartUpload whose result carries
	// stamp, with PutOptions.Stamp's install rule (ErrSuperseded when older; the
	// upload is then consumed all the same).
	CompleteMultipartUploadAt(ctx context.Context, bucket, key, uploadID string, parts []CompletePart, stamp Stamp) (ObjectInfo, error)
	// DropBucket removes bucket and everything it holds (objects, tombstones,
	// uploads and their data files); a missing bucket is not an error.
	DropBucket(ctx context.Context, bucket string) error
}

// VersionHeld is what a replica holds of one version id of a key in a
// cluster (see store/local's version tombstones): the version itself (an
// object or a delete marker, VersionID set, "null" included) and the
// tombstone its removal by id left (Deleted and VersionID set, Stamp the
// removed version's, LastModified when it was removed there). Either may
// be nil.
type VersionHeld struct {
	Version *ObjectInfo `json:"version,omitempty"`
	Tomb    *ObjectInfo `json:"tomb,omitempty"`
}

// TombCovers reports whether the version tombstone tomb (see VersionHeld)
// removes a copy of its version id stamped s. A version id other than
// "null" comes from its version's stamp, so it names one version: the
// tombstone covers every copy of it, whatever stamp it carries (a node
// that never held the version keeps its tombstone with the zero stamp).
// A Suspended bucket reuses "null": its tombstone covers a copy not newer
// than tomb.Stamp.
func TombCovers(tomb ObjectInfo, s Stamp) bool {
	return tomb.VersionID != NullVersionID || !s.After(tomb.Stamp)
}
