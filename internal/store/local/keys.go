package local

import (
	"fmt"
	"strings"
)

// Key prefixes of the index. See doc.go for the layout.
const (
	pfxBucket   = "b/"
	pfxObject   = "o/"
	pfxUpload   = "u/"
	pfxUploadID = "i/"
	pfxPart     = "p/"
	pfxFile     = "f/"
	pfxVersion  = "w/"
	pfxInline   = "n/"
	pfxTomb     = "x/"
)

func bucketKey(bucket string) []byte { return []byte(pfxBucket + bucket) }

// objectBase is the prefix of every object key of bucket.
func objectBase(bucket string) string { return pfxObject + bucket + "\x00" }

func objectKey(bucket, key string) []byte { return []byte(objectBase(bucket) + key) }

// uploadBase is the prefix of every upload key of bucket.
func uploadBase(bucket string) string { return pfxUpload + bucket + "\x00" }

func uploadKey(bucket, key, id string) []byte {
	return []byte(uploadBase(bucket) + key + "\x00" + id)
}

func uploadIDKey(id string) []byte { return []byte(pfxUploadID + id) }

func partBase(id string) string { return pfxPart + id + "/" }

func partKey(id string, n int) []byte { return []byte(fmt.Sprintf("%s%05d", partBase(id), n)) }

// versionBucketBase is the prefix of every noncurrent version of bucket.
func versionBucketBase(bucket string) string { return pfxVersion + bucket + "\x00" }

// versionBase is the prefix of every noncurrent version of bucket/key.
func versionBase(bucket, key string) string { return versionBucketBase(bucket) + key + "\x00" }

// versionKey is the index key of a noncurrent version; sort orders a key's
// versions newest first.
func versionKey(bucket, key, sort string) []byte { return []byte(versionBase(bucket, key) + sort) }

func fileKey(fileID string) []byte { return []byte(pfxFile + fileID) }

// splitUploadKey splits the part of an upload key after uploadBase into the
// object key and the upload id.
func splitUploadKey(rest string) (key, id string, ok bool) {
	i := strings.LastIndexByte(rest, 0)
	if i < 0 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// successor returns the smallest string greater than every string that has
// prefix p, or "" when there is none (p is empty or all 0xff).
func successor(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}
