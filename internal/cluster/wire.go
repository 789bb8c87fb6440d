package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/store"
)

// The internal API lives under this path on every node's listener. A
// bucket name cannot start with '_', so no S3 path collides with it.
const internalPrefix = "/_cluster/v1/"

// sentinels are the storage errors that cross the wire as themselves.
var sentinels = []error{
	store.ErrNoSuchBucket, store.ErrBucketExists, store.ErrBucketOwnedByYou, store.ErrBucketNotEmpty,
	store.ErrNoSuchKey, store.ErrNoSuchUpload, store.ErrInvalidPart, store.ErrInvalidPartOrder,
	store.ErrEntityTooSmall, store.ErrBadDigest, store.ErrIncompleteBody, store.ErrCorrupt,
	store.ErrInvalidRange, store.ErrInvalidPartNumber, store.ErrPreconditionFailed, store.ErrSuperseded,
	store.ErrNoSuchVersion, store.ErrInvalidVersionID,
	store.ErrObjectLocked, store.ErrObjectLockNotEnabled, store.ErrNoObjectLockConfig, store.ErrInvalidBucketState,
	ErrUnsigned, ErrNoSuchNode,
}

// wireError is the JSON body of a failed internal call.
type wireError struct {
	Sentinel string `json:"sentinel,omitempty"`
	Message  string `json:"message"`
}

// writeError answers an internal call with err.
func writeError(w http.ResponseWriter, err error) {
	we := wireError{Message: err.Error()}
	code := http.StatusInternalServerError
	for _, s := range sentinels {
		if errors.Is(err, s) {
			we.Sentinel, code = s.Error(), http.StatusConflict
			break
		}
	}
	if errors.Is(err, ErrUnsigned) {
		code = http.StatusForbidden
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(we)
}

// remoteError turns a failed internal answer back into an error, the
// storage sentinel itself when it was one.
func remoteError(resp *http.Response) error {
	var we wireError
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &we) != nil {
		return fmt.Errorf("cluster: peer answered %s", resp.Status)
	}
	for _, s := range sentinels {
		if we.Sentinel == s.Error() {
			return s
		}
	}
	return fmt.Errorf("cluster: peer: %s", we.Message)
}

// putArgs travel in the X-Insitu-Put header of a streamed replica write.
type putArgs struct {
	Meta      store.ObjectMeta `json:"meta"`
	Algorithm string           `json:"alg,omitempty"`
	Stamp     store.Stamp      `json:"stamp"`
	// Digest says the body's MD5 and CRC-32C follow it in the
	// X-Insitu-Digest trailer (see digestTrailer).
	Digest bool `json:"digest,omitempty"`
	// VersionID, when set, stores the write as that version of the key
	// (store.PutOptions.VersionID).
	VersionID string `json:"vid,omitempty"`
	// Cache is how the receiving node's copy uses its page cache
	// (store.PutOptions.Cache; see PutObject).
	Cache store.CacheMode `json:"cache,omitempty"`
}

// versionArgs name one version of a key in JSON calls.
type versionArgs struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Version string `json:"version"`
	ACL     string `json:"acl,omitempty"` // versionacl: the canned ACL to set
	// Marker (expireversion) expires a delete marker
	// (ExpireDeleteMarker), else a noncurrent version (ExpireNoncurrent).
	Marker bool `json:"marker,omitempty"`
	// Bypass (deleteversion) lifts GOVERNANCE retention.
	Bypass bool `json:"bypass,omitempty"`
	// Lock (versionlock) is the lock change to apply.
	Lock *store.LockChange `json:"lock,omitempty"`
	// Stamp (versionacl) is the ACL change's stamp; (versionsettings)
	// the stamp of the version whose settings Meta carries.
	Stamp store.Stamp `json:"stamp,omitzero"`
	// Meta (versionsettings) carries a copy's ACL and lock settings with
	// their stamps.
	Meta *store.ObjectMeta `json:"meta,omitempty"`
}

// listVersionsArgs ask for one node's page of a version listing.
type listVersionsArgs struct {
	Bucket string                    `json:"bucket"`
	Opts   store.ListVersionsOptions `json:"opts"`
}

// keyArgs name one key (and a stamp) in JSON calls.
type keyArgs struct {
	Bucket string      `json:"bucket"`
	Key    string      `json:"key"`
	Stamp  store.Stamp `json:"stamp"`
}

// lookupArgs asks what a node holds for some keys of one bucket.
type lookupArgs struct {
	Bucket string   `json:"bucket"`
	Keys   []string `json:"keys"`
}

// versionLookupArgs asks what a node holds of some versions (and their
// tombstones) of one bucket: Keys[i] and IDs[i] name one version.
type versionLookupArgs struct {
	Bucket string   `json:"bucket"`
	Keys   []string `json:"keys"`
	IDs    []string `json:"ids"`
}

// held is one answer of a lookup: Found false when nothing is held.
type held struct {
	Found bool             `json:"found"`
	Info  store.ObjectInfo `json:"info"`
}

// listArgs asks for one node's page of a listing (tombstones included).
type listArgs struct {
	Bucket string            `json:"bucket"`
	Opts   store.ListOptions `json:"opts"`
}

// mpuArgs carry every multipart call but the part upload.
type mpuArgs struct {
	Bucket   string                   `json:"bucket"`
	Key      string                   `json:"key"`
	UploadID string                   `json:"upload_id"`
	Opts     putArgs                  `json:"opts"`
	Parts    []store.CompletePart     `json:"parts,omitempty"`
	Marker   int                      `json:"marker,omitempty"`
	Max      int                      `json:"max,omitempty"`
	List     store.ListUploadsOptions `json:"list"`
}
