package local

import (
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// objectRecord is the index value of an object (key o/...), or of a
// tombstone (Deleted set, no data file). Records written before stamps
// existed decode with the zero Stamp.
type objectRecord struct {
	Size     int64            `json:"s"`
	ETag     string           `json:"e"`
	Modified time.Time        `json:"t"`
	Meta     store.ObjectMeta `json:"m"`
	Checksum *store.Checksum  `json:"c,omitempty"`
	Parts    []partRef        `json:"p,omitempty"`
	File     string           `json:"f"`
	// Inline says the body is not in a data file but in the index under
	// n/<File> (a blockfile image, written in the record's batch); data
	// holds that image while a write commits it.
	Inline  bool        `json:"n,omitempty"`
	data    []byte      `json:"-"`
	Stamp   store.Stamp `json:"v,omitzero"`
	Deleted bool        `json:"d,omitempty"`
	// Versioning (see version.go): VersionID is the S3 version id ("null"
	// for the null version; "" in a bucket that never had versioning),
	// Sort orders the record among its key's versions (newest smallest;
	// equal to VersionID except for null versions), and Marker makes a
	// tombstone (Deleted) a delete marker.
	VersionID string `json:"vi,omitempty"`
	Sort      string `json:"vs,omitempty"`
	Marker    bool   `json:"dm,omitempty"`
}

// partRef is one part of a completed multipart object, kept compact
// because records are decoded on every listing.
type partRef struct {
	N int    `json:"n"`
	S int64  `json:"s"`
	E string `json:"e,omitempty"`
	C string `json:"c,omitempty"` // checksum value, same algorithm as the object's
}

func (r *objectRecord) info(bucket, key string) store.ObjectInfo {
	if r.Marker {
		return store.ObjectInfo{Bucket: bucket, Key: key, LastModified: r.Modified, Stamp: r.Stamp, VersionID: r.VersionID, DeleteMarker: true}
	}
	if r.Deleted {
		return store.ObjectInfo{Bucket: bucket, Key: key, LastModified: r.Modified, Stamp: r.Stamp, Deleted: true}
	}
	oi := store.ObjectInfo{
		Bucket:       bucket,
		Key:          key,
		Size:         r.Size,
		ETag:         r.ETag,
		LastModified: r.Modified,
		Meta:         r.Meta,
		Stamp:        r.Stamp,
		VersionID:    r.VersionID,
	}
	if r.Checksum != nil {
		oi.Checksum = *r.Checksum
	}
	if r.Parts != nil {
		oi.Parts = make([]store.PartInfo, len(r.Parts))
		for i, p := range r.Parts {
			oi.Parts[i] = store.PartInfo{Number: p.N, Size: p.S, ETag: p.E, LastModified: r.Modified}
			if p.C != "" {
				oi.Parts[i].Checksum = store.Checksum{Algorithm: oi.Checksum.Algorithm, Value: p.C, Type: "FULL_OBJECT"}
			}
		}
	}
	return oi
}

// uploadRecord is the index value of an upload (key u/...).
type uploadRecord struct {
	Initiated time.Time        `json:"t"`
	Meta      store.ObjectMeta `json:"m"`
	Algorithm string           `json:"a,omitempty"`
}

func (r *uploadRecord) info(bucket, key, id string) store.UploadInfo {
	ui := store.UploadInfo{
		Bucket:            bucket,
		Key:               key,
		UploadID:          id,
		Initiated:         r.Initiated,
		Meta:              r.Meta,
		ChecksumAlgorithm: r.Algorithm,
	}
	if r.Algorithm != "" {
		ui.ChecksumType = "COMPOSITE"
	}
	return ui
}

// uploadRef is the index value of i/<uploadID>.
type uploadRef struct {
	Bucket string `json:"b"`
	Key    string `json:"k"`
}

// partRecord is the index value of a part (key p/...).
type partRecord struct {
	Size     int64           `json:"s"`
	ETag     string          `json:"e"`
	Modified time.Time       `json:"t"`
	Checksum *store.Checksum `json:"c,omitempty"`
	File     string          `json:"f"`
}

func (r *partRecord) info(n int) store.PartInfo {
	pi := store.PartInfo{Number: n, Size: r.Size, ETag: r.ETag, LastModified: r.Modified}
	if r.Checksum != nil {
		pi.Checksum = *r.Checksum
	}
	return pi
}
