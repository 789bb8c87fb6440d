package store

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Bucket versioning states, as S3 spells them. The zero value is a bucket
// that never had versioning; once set, a bucket never returns to it.
const (
	VersioningUnset     = ""
	VersioningEnabled   = "Enabled"
	VersioningSuspended = "Suspended"
)

// NullVersionID is the version id of the null version: an object written
// while versioning was unset or suspended.
const NullVersionID = "null"

// Errors of versioned operations.
var (
	// ErrNoSuchVersion: the version id is well formed but names nothing.
	ErrNoSuchVersion = errors.New("store: no such version")
	// ErrInvalidVersionID: the version id is not one this store issues.
	ErrInvalidVersionID = errors.New("store: invalid version id")
	// ErrVersionIsDeleteMarker: GET or HEAD of a delete marker by its id.
	ErrVersionIsDeleteMarker = errors.New("store: the version is a delete marker")
	// ErrInvalidVersioningState: a state other than Enabled or Suspended.
	ErrInvalidVersioningState = errors.New("store: invalid versioning state")
)

// DeleteMarkerError reports that a read found a delete marker: either the
// key's latest version (Err is ErrNoSuchKey) or the version asked for
// (Err is ErrVersionIsDeleteMarker). errors.Is sees through it to Err.
type DeleteMarkerError struct {
	VersionID string
	Err       error
}

func (e *DeleteMarkerError) Error() string {
	return e.Err.Error() + " (delete marker " + e.VersionID + ")"
}

// Unwrap returns Err.
func (e *DeleteMarkerError) Unwrap() error { return e.Err }

// DeleteResult is what a delete did in a bucket with versioning.
type DeleteResult struct {
	// VersionID is the version removed, or the delete marker created.
	VersionID string
	// DeleteMarker is true when a marker was created, or the version
	// removed was one.
	DeleteMarker bool
}

// ListVersionsOptions select a page of ListObjectVersions.
type ListVersionsOptions struct {
	Prefix    string
	Delimiter string
	// KeyMarker and VersionIDMarker resume after a version: with an empty
	// VersionIDMarker every version of KeyMarker is skipped.
	KeyMarker       string
	VersionIDMarker string
	MaxKeys         int // 0 means 1000; capped at 1000
}

// ObjectVersion is one entry of a version listing: an object version or a
// delete marker (Info.DeleteMarker).
type ObjectVersion struct {
	Info     ObjectInfo
	IsLatest bool
}

// ListVersionsResult is a page of versions ordered by key, then newest
// first. Versions and CommonPrefixes together hold at most MaxKeys.
type ListVersionsResult struct {
	Versions            []ObjectVersion
	CommonPrefixes      []string
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIDMarker string
}

// Versioned is implemented by engines that support S3 bucket versioning.
// Once a bucket's state is set, PutObject, CompleteMultipartUpload and
// DeleteObject follow S3's versioning rules (a new version per write in an
// Enabled bucket, the null version replaced in a Suspended one, delete
// markers) and report ObjectInfo.VersionID. Safe for concurrent use.
type Versioned interface {
	// SetBucketVersioning sets state (VersioningEnabled or
	// VersioningSuspended; anything else is ErrInvalidVersioningState).
	SetBucketVersioning(ctx context.Context, bucket, state string) error
	// BucketVersioning returns the bucket's state.
	BucketVersioning(ctx context.Context, bucket string) (string, error)
	// HeadObjectVersion and GetObjectVersion read one version ("null"
	// names the null version). A delete marker is a *DeleteMarkerError.
	HeadObjectVersion(ctx context.Context, bucket, key, versionID string) (ObjectInfo, error)
	GetObjectVersion(ctx context.Context, bucket, key, versionID string, rng *Range) (ObjectInfo, io.ReadCloser, error)
	// DeleteObjectVersion removes one version for good; versionID ""
	// is a plain DeleteObject (a delete marker where versioning is set).
	// Removing a version that does not exist is not an error.
	DeleteObjectVersion(ctx context.Context, bucket, key, versionID string) (DeleteResult, error)
	ListObjectVersions(ctx context.Context, bucket string, opts ListVersionsOptions) (ListVersionsResult, error)
	// SetObjectACL sets the canned ACL (ObjectMeta.ACL) of one version
	// ("" for the latest) in place, as PutObjectAcl does in S3: no new
	// version, the same LastModified.
	SetObjectACL(ctx context.Context, bucket, key, versionID, acl string) error
}

// ValidVersionID reports whether id is "null" or has the shape of the
// version ids the engines issue: 24 lower-case hex digits.
func ValidVersionID(id string) bool {
	if id == NullVersionID {
		return true
	}
	if len(id) != 24 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// VersionIDOf returns the version id of a cluster write stamped s: 16 hex
// digits of the bitwise complement of the stamp's time in nanoseconds
// (the HLC's milliseconds × 10⁶ plus its logical counter, so ids sort
// with the ones a single node makes from its clock), then 8 hex digits
// of the FNV-1a hash of the stamp's node. Every replica gets the same id
// from the same stamp, and a key's ids sort newest stamp first.
func VersionIDOf(s Stamp) string {
	ns := (s.HLC>>16)*1_000_000 + s.HLC&0xffff
	h := uint32(2166136261)
	for i := 0; i < len(s.Node); i++ {
		h = (h ^ uint32(s.Node[i])) * 16777619
	}
	return fmt.Sprintf("%016x%08x", ^ns, h)
}
