package store

import (
	"context"
	"errors"
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
