package s3api

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		in   string
		want store.Range
		ok   bool
	}{
		{"bytes=0-9", store.Range{Start: 0, End: 9}, true},
		{"bytes=5-", store.Range{Start: 5, End: -1}, true},
		{"bytes=-3", store.Range{Suffix: 3}, true},
		{"bytes=-0", store.Range{}, false},
		{"bytes=9-1", store.Range{}, false},
		{"bytes=0-1,4-5", store.Range{}, false},
		{"items=0-1", store.Range{}, false},
		{"bytes=a-b", store.Range{}, false},
		{"bytes=", store.Range{}, false},
	}
	for _, tt := range tests {
		got, ok := parseRange(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseRange(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidBucketName(t *testing.T) {
	good := []string{"abc", "my-bucket", "my.bucket.1", "a23456789012345678901234567890123456789012345678901234567890123"}
	bad := []string{"ab", "ABC", "-abc", "abc-", "a..b", "a.-b", "192.168.1.1", "xn--abc", "abc-s3alias", "api", "metrics",
		"a_b", "a234567890123456789012345678901234567890123456789012345678901234", "bucket/x", ""}
	for _, n := range good {
		if !validBucketName(n) {
			t.Errorf("validBucketName(%q) = false", n)
		}
	}
	for _, n := range bad {
		if validBucketName(n) {
			t.Errorf("validBucketName(%q) = true", n)
		}
	}
}

func TestOpName(t *testing.T) {
	q := func(s string) url.Values { v, _ := url.ParseQuery(s); return v }
	copyHdr := http.Header{"X-Amz-Copy-Source": {"/b/k"}}
	tests := []struct {
		method, bucket, key, query string
		hdr                        http.Header
		want                       string
	}{
		{"GET", "", "", "", nil, "ListBuckets"},
		{"PUT", "b", "", "", nil, "CreateBucket"},
		{"GET", "b", "", "list-type=2", nil, "ListObjectsV2"},
		{"GET", "b", "", "", nil, "ListObjects"},
		{"GET", "b", "", "location", nil, "GetBucketLocation"},
		{"GET", "b", "", "versions", nil, "ListObjectVersions"},
		{"GET", "b", "", "uploads", nil, "ListMultipartUploads"},
		{"POST", "b", "", "delete", nil, "DeleteObjects"},
		{"PUT", "b", "k", "", nil, "PutObject"},
		{"PUT", "b", "k", "", copyHdr, "CopyObject"},
		{"PUT", "b", "k", "partNumber=1&uploadId=x", nil, "UploadPart"},
		{"PUT", "b", "k", "partNumber=1&uploadId=x", copyHdr, "UploadPartCopy"},
		{"POST", "b", "k", "uploads", nil, "CreateMultipartUpload"},
		{"POST", "b", "k", "uploadId=x", nil, "CompleteMultipartUpload"},
		{"DELETE", "b", "k", "uploadId=x", nil, "AbortMultipartUpload"},
		{"GET", "b", "k", "uploadId=x", nil, "ListParts"},
		{"PUT", "b", "", "replication", nil, "NotImplemented"},
		{"PUT", "b", "k", "acl", nil, "PutObjectAcl"},
		{"PUT", "b", "k", "tagging", nil, "NotImplemented"},
		{"PUT", "b", "", "acl", nil, "PutBucketAcl"},
		{"PUT", "b", "", "policy", nil, "PutBucketPolicy"},
		{"GET", "b", "", "policy", nil, "GetBucketPolicy"},
		{"DELETE", "b", "", "policy", nil, "DeleteBucketPolicy"},
		{"GET", "b", "", "publicAccessBlock", nil, "GetPublicAccessBlock"},
		{"PUT", "b", "", "publicAccessBlock", nil, "PutPublicAccessBlock"},
		{"DELETE", "b", "", "publicAccessBlock", nil, "DeletePublicAccessBlock"},
		{"POST", "b", "", "policy", nil, "NotImplemented"},
		{"PATCH", "b", "k", "", nil, "MethodNotAllowed"},
	}
	for _, tt := range tests {
		h := tt.hdr
		if h == nil {
			h = http.Header{}
		}
		if got := opName(tt.method, tt.bucket, tt.key, q(tt.query), h); got != tt.want {
			t.Errorf("opName(%s %s/%s?%s) = %s, want %s", tt.method, tt.bucket, tt.key, tt.query, got, tt.want)
		}
	}
}

func TestCheckConditions(t *testing.T) {
	lm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	info := store.ObjectInfo{ETag: "abc", LastModified: lm}
	before := lm.Add(-time.Hour).Format(http.TimeFormat)
	after := lm.Add(time.Hour).Format(http.TimeFormat)
	tests := []struct {
		name string
		hdr  map[string]string
		want error
	}{
		{"none", nil, nil},
		{"if-match hit", map[string]string{"If-Match": `"abc"`}, nil},
		{"if-match miss", map[string]string{"If-Match": `"zzz"`}, errPreconditionFailed},
		{"if-match star", map[string]string{"If-Match": `*`}, nil},
		{"if-none-match hit", map[string]string{"If-None-Match": `"abc"`}, errNotModified},
		{"if-none-match miss", map[string]string{"If-None-Match": `"zzz"`}, nil},
		{"modified-since before", map[string]string{"If-Modified-Since": before}, nil},
		{"modified-since after", map[string]string{"If-Modified-Since": after}, errNotModified},
		{"unmodified-since before", map[string]string{"If-Unmodified-Since": before}, errPreconditionFailed},
		{"unmodified-since after", map[string]string{"If-Unmodified-Since": after}, nil},
		{"if-match wins over unmodified", map[string]string{"If-Match": `"abc"`, "If-Unmodified-Since": before}, nil},
		{"if-none-match miss and modified-since after", map[string]string{"If-None-Match": `"zzz"`, "If-Modified-Since": after}, nil},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.hdr {
			h.Set(k, v)
		}
		if got := checkConditions(h, "", info, true); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// For copies, a failed If-None-Match is 412, not 304.
	h := http.Header{"X-Amz-Copy-Source-If-None-Match": {`"abc"`}}
	if got := checkConditions(h, "x-amz-copy-source-", info, false); got != errPreconditionFailed {
		t.Errorf("copy if-none-match: got %v", got)
	}
}

func TestCopySource(t *testing.T) {
	tests := []struct {
		in, bucket, key, vid string
		ok                   bool
	}{
		{"/b/k", "b", "k", "", true},
		{"b/dir/k%20x", "b", "dir/k x", "", true},
		{"b/k?versionId=null", "b", "k", "null", true},
		{"b/k?versionId=123", "b", "k", "123", true}, // checked by the engine
		{"b/k?versionId=", "", "", "", false},
		{"b", "", "", "", false},
		{"/b/", "", "", "", false},
		{"b/%zz", "", "", "", false},
	}
	for _, tt := range tests {
		b, k, vid, err := copySource(tt.in)
		if (err == nil) != tt.ok || b != tt.bucket || k != tt.key || vid != tt.vid {
			t.Errorf("copySource(%q) = %q, %q, %q, %v", tt.in, b, k, vid, err)
		}
	}
}
