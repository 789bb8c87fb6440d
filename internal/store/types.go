package store

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// Sentinel errors returned by an Engine. Callers compare with errors.Is.
var (
	ErrNoSuchBucket       = errors.New("store: no such bucket")
	ErrBucketExists       = errors.New("store: bucket already exists") // owned by another account
	ErrBucketOwnedByYou   = errors.New("store: bucket already owned by you")
	ErrBucketNotEmpty     = errors.New("store: bucket not empty")
	ErrNoSuchKey          = errors.New("store: no such key")
	ErrNoSuchUpload       = errors.New("store: no such upload")
	ErrInvalidPart        = errors.New("store: invalid part")       // a listed part is missing or its ETag differs
	ErrInvalidPartOrder   = errors.New("store: invalid part order") // part numbers not ascending
	ErrEntityTooSmall     = errors.New("store: part too small")     // a non-last part under MinPartSize
	ErrBadDigest          = errors.New("store: content digest mismatch")
	ErrIncompleteBody     = errors.New("store: body shorter than declared size")
	ErrCorrupt            = errors.New("store: stored data failed its checksum")
	ErrInvalidRange       = errors.New("store: range not satisfiable")
	ErrInvalidPartNumber  = errors.New("store: part number out of range")
	ErrPreconditionFailed = errors.New("store: precondition failed")
	// ErrNotLocal is returned by LocalFiles.OpenFile when this node holds
	// no current copy of the object (in a cluster), or holds it without a
	// data file (a small body kept in the index); read it with GetObject.
	ErrNotLocal = errors.New("store: object not held on this node")
	// ErrUnavailable is returned by a cluster engine when too few of a
	// key's replicas are reachable to take or serve it; retrying may
	// succeed once membership settles.
	ErrUnavailable = errors.New("store: too few replicas reachable")
)

// Limits that follow AWS S3.
const (
	MinPartSize = 5 << 20 // every part but the last
	MaxParts    = 10000
	MaxPartSize = 5 << 30
)

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name    string
	Owner   string // account name
	Region  string // LocationConstraint, "" means the default region (sigv4.DefaultRegion)
	Created time.Time
}

// ObjectMeta is the caller-supplied metadata stored with an object.
type ObjectMeta struct {
	ContentType        string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string
	// User holds x-amz-meta-* values keyed by lower-case name without the prefix.
	User map[string]string
	// ACL is the object's canned ACL (public-read, ...); "" is private.
	ACL string `json:",omitempty"`
	// Object Lock state of the version (see ObjectLocker): retention mode
	// (LockGovernance, LockCompliance; "" none) and retain-until date,
	// and the legal hold. Copies of an object do not inherit them.
	LockMode        string    `json:",omitempty"`
	LockRetainUntil time.Time `json:",omitzero"`
	LegalHold       bool      `json:",omitempty"`
	// LegalHoldSet records that a legal hold (ON or OFF) was ever set, so
	// GetObjectLegalHold can tell OFF from never set, as S3 does.
	LegalHoldSet bool `json:",omitempty"`
	// ACLStamp and LockStamp are the stamps of the last in-place change
	// of the version's ACL and of its lock settings in a cluster (zero:
	// none, or made by a single node), so repair can bring a change to a
	// replica that missed it; each field group goes with its own stamp.
	ACLStamp  Stamp `json:",omitzero"`
	LockStamp Stamp `json:",omitzero"`
}

// SettingsNewer reports whether m carries a newer ACL or lock change
// than o (the same version's copy elsewhere).
func (m ObjectMeta) SettingsNewer(o ObjectMeta) bool {
	return m.ACLStamp.After(o.ACLStamp) || m.LockStamp.After(o.LockStamp)
}

// TakeSettings copies into m the ACL and lock settings of o that carry a
// newer stamp than m's, and reports whether it changed m.
func (m *ObjectMeta) TakeSettings(o ObjectMeta) bool {
	changed := false
	if o.ACLStamp.After(m.ACLStamp) {
		m.ACL, m.ACLStamp, changed = o.ACL, o.ACLStamp, true
	}
	if o.LockStamp.After(m.LockStamp) {
		m.LockMode, m.LockRetainUntil, m.LegalHold, m.LegalHoldSet = o.LockMode, o.LockRetainUntil, o.LegalHold, o.LegalHoldSet
		m.LockStamp, changed = o.LockStamp, true
	}
	return changed
}

// Checksum is an additional S3 checksum of an object or part.
type Checksum struct {
	Algorithm string // CRC32, CRC32C, CRC64NVME, SHA1, SHA256
	Value     string // base64; for composite multipart checksums it ends in "-N"
	Type      string // FULL_OBJECT or COMPOSITE
}

// PartInfo describes one part of a multipart upload or of a completed
// multipart object.
type PartInfo struct {
	Number       int
	Size         int64
	ETag         string // hex MD5, unquoted
	LastModified time.Time
	Checksum     Checksum // zero when the part was uploaded without one
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Bucket       string
	Key          string
	Size         int64
	ETag         string // unquoted: hex MD5, or hex(md5 of part md5s)-N
	LastModified time.Time
	Meta         ObjectMeta
	Checksum     Checksum   // zero when none was requested
	Parts        []PartInfo // non-nil only for multipart objects
	// Stamp orders replica writes (see Stamp); zero for unstamped objects.
	Stamp Stamp
	// Deleted is true only for tombstones, which only the Replicas methods
	// and ListOptions.Tombstones return.
	Deleted bool
	// VersionID is the object's version in a bucket that has had
	// versioning (see Versioned): an opaque id, or "null" for the null
	// version; "" in a bucket that never had versioning.
	VersionID string `json:",omitempty"`
	// DeleteMarker is true when this is a delete marker (see Versioned).
	DeleteMarker bool `json:",omitempty"`
}

// PutOptions control a PutObject or UploadPart.
type PutOptions struct {
	Meta ObjectMeta
	// MD5 when non-nil is the expected MD5 of the body (Content-MD5).
	MD5 []byte
	// ChecksumAlgorithm names an additional checksum to compute and store
	// ("" for none).
	ChecksumAlgorithm string
	// ExpectedChecksum returns the base64 value the computed checksum must
	// equal, or "" when the client sent none. It is called only after the
	// body has been read to EOF, so values from aws-chunked trailers work.
	ExpectedChecksum func() string
	// IfNoneMatchStar makes the put fail with ErrPreconditionFailed when the
	// key already exists (If-None-Match: *).
	IfNoneMatchStar bool
	// Stamp, when non-zero, makes PutObject install the object only if
	// Stamp.After what is held for the key (object or tombstone; the zero
	// Stamp when nothing), checked atomically with the commit; otherwise it
	// returns ErrSuperseded and nothing changes. The stamp is stored with
	// the object. Zero (the default): a plain overwrite.
	Stamp Stamp
	// Modified, when non-zero, is the object's LastModified: a cluster
	// coordinator's write time, so every replica shows the same one.
	// Zero (the default): the time of the commit.
	Modified time.Time
	// KnownDigest, when set, is called once the body has been read to EOF
	// and returns what a coordinator that already read the body knows of
	// it. The engine then does not hash the body with MD5 itself: it takes
	// the returned MD5 as the ETag and checks the bytes it received against
	// the returned CRC-32C instead (ErrBadDigest when they differ; an error
	// from KnownDigest fails the put). Nil (the default): the engine
	// computes the MD5.
	KnownDigest func() (BodyDigest, error)
	// VersionID, when set (a cluster coordinator's id, see VersionIDOf,
	// with Stamp), stores the object as that version of the key whatever
	// the bucket's own versioning state: the version newest by id is the
	// latest, and a version already held makes the put ErrSuperseded.
	// "" (the default): the bucket's versioning rules apply.
	VersionID string
	// Cache says how the written copy uses the page cache (where the
	// filesystem allows a choice). CacheWrite (the default): through it.
	Cache CacheMode
}

// CacheMode says how a write uses the page cache; see PutOptions.Cache.
type CacheMode uint8

const (
	// CacheWrite writes through the page cache, so the reads that follow
	// a write find the bytes in memory; the copy into the cache costs CPU.
	CacheWrite CacheMode = iota
	// CacheReadBack writes around the page cache (no CPU copy), then, once
	// the bytes are durable, asks the device to read the file back into
	// the cache (fadvise WILLNEED: DMA, as much as the kernel's read-ahead
	// takes in one call): a cluster's first holder of a key, which serves
	// its reads, where the CPU the copy costs is short.
	CacheReadBack
	// CacheNone writes around the page cache: a copy not expected to be
	// read soon (a cluster's other replicas, repair copies).
	CacheNone
)

// BodyDigest is what a cluster coordinator computed over a body it streams
// to replicas: the MD5 (the ETag) and a CRC-32C (Castagnoli) that each
// replica checks the bytes it received against, at a fraction of MD5's cost.
type BodyDigest struct {
	MD5    []byte
	CRC32C uint32
}

// Range is a requested byte range (HTTP Range semantics). The engine
// resolves it against the object's size with Resolve.
type Range struct {
	Start int64 // first byte, inclusive
	End   int64 // last byte, inclusive; -1 means the end of the object
	// Suffix > 0 asks for the last Suffix bytes; Start and End are ignored.
	Suffix int64
}

// Resolve returns the absolute offset and length of r within an object of
// size bytes, clamping End to the object. It returns ErrInvalidRange when
// the range starts beyond the object (or the object is empty).
func (r Range) Resolve(size int64) (off, n int64, err error) {
	if r.Suffix > 0 {
		if size == 0 {
			return 0, 0, ErrInvalidRange
		}
		n = min(r.Suffix, size)
		return size - n, n, nil
	}
	if r.Start < 0 || r.Start >= size || (r.End >= 0 && r.End < r.Start) {
		return 0, 0, ErrInvalidRange
	}
	end := r.End
	if end < 0 || end >= size {
		end = size - 1
	}
	return r.Start, end - r.Start + 1, nil
}

// ListOptions select a page of a bucket listing.
type ListOptions struct {
	Prefix    string
	Delimiter string
	// After lists only keys strictly greater than After (marker, start-after,
	// or a decoded continuation token).
	After   string
	MaxKeys int // 0 means 1000; capped at 1000
	// Tombstones makes the listing also return tombstones (ObjectInfo with
	// Deleted true and their Stamp); they count toward MaxKeys and roll up
	// into common prefixes. Default false: a key with a tombstone is absent.
	Tombstones bool
}

// ListResult is one page of a listing, in key order. Objects and
// CommonPrefixes together hold at most MaxKeys entries.
type ListResult struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	IsTruncated    bool
	// NextAfter is the last key or common prefix returned; pass it as After
	// to get the next page. Set only when IsTruncated.
	NextAfter string
}

// UploadInfo describes an in-progress multipart upload.
type UploadInfo struct {
	Bucket            string
	Key               string
	UploadID          string
	Initiated         time.Time
	Meta              ObjectMeta
	ChecksumAlgorithm string
	ChecksumType      string
}

// ListUploadsOptions select a page of in-progress uploads.
type ListUploadsOptions struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int // 0 means 1000
}

// ListUploadsResult is a page of uploads ordered by key, then initiation.
type ListUploadsResult struct {
	Uploads            []UploadInfo
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// ListPartsResult is a page of parts ordered by number.
type ListPartsResult struct {
	Upload               UploadInfo
	Parts                []PartInfo
	IsTruncated          bool
	NextPartNumberMarker int
}

// CompletePart is one entry of a CompleteMultipartUpload request.
type CompletePart struct {
	Number   int
	ETag     string   // quotes are ignored
	Checksum Checksum // optional; verified against the stored part when set
}

// Engine is the storage interface between the protocol layers and a backend.
// Implementations are safe for concurrent use. Bucket and key names arrive
// already validated by the protocol layer.
type Engine interface {
	CreateBucket(ctx context.Context, b BucketInfo) error
	DeleteBucket(ctx context.Context, bucket string) error
	GetBucket(ctx context.Context, bucket string) (BucketInfo, error)
	// ListBuckets returns every bucket in name order.
	ListBuckets(ctx context.Context) ([]BucketInfo, error)

	// PutObject stores r as bucket/key. size is the exact body length, or -1
	// when unknown. Nothing is visible until the write is durable; on any
	// error (including a read error from r) nothing changes.
	PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error)
	HeadObject(ctx context.Context, bucket, key string) (ObjectInfo, error)
	// GetObject opens the object; rng nil means the whole object. Every byte
	// read is verified against the stored block checksums; a mismatch makes
	// Read return ErrCorrupt. The caller must Close the reader.
	GetObject(ctx context.Context, bucket, key string, rng *Range) (ObjectInfo, io.ReadCloser, error)
	// DeleteObject removes the object; deleting a missing key is not an error.
	DeleteObject(ctx context.Context, bucket, key string) error
	ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error)

	CreateMultipartUpload(ctx context.Context, bucket, key string, opts PutOptions) (UploadInfo, error)
	// UploadPart stores one part; a part with the same number replaces it.
	UploadPart(ctx context.Context, bucket, key, uploadID string, number int, r io.Reader, size int64, opts PutOptions) (PartInfo, error)
	ListParts(ctx context.Context, bucket, key, uploadID string, marker, maxParts int) (ListPartsResult, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart) (ObjectInfo, error)
	ListMultipartUploads(ctx context.Context, bucket string, opts ListUploadsOptions) (ListUploadsResult, error)

	// Close releases the engine; it is idempotent.
	Close() error
}

// LocalFiles is implemented by engines that keep each object in a local
// data file in the blockfile format (internal/store/blockfile). OpenFile
// returns the object's info and its open data file, positioned anywhere;
// the caller verifies blocks as it reads and closes the file.
type LocalFiles interface {
	OpenFile(ctx context.Context, bucket, key string) (ObjectInfo, *os.File, error)
}

// LocalOpener is implemented by engines that keep small bodies inline
// in their index besides data files: OpenLocal returns the data file as
// LocalFiles.OpenFile does or, for an inline body, a reader of it (file
// nil) from the same lookup. The caller closes whichever it got.
type LocalOpener interface {
	OpenLocal(ctx context.Context, bucket, key string) (ObjectInfo, *os.File, io.ReadCloser, error)
}
