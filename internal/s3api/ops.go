package s3api

import (
	"net/http"
	"net/url"
)

// bucketSubresources maps a bucket GET sub-resource to its operation name.
var bucketGetSubresources = []struct{ param, op string }{
	{"location", "GetBucketLocation"},
	{"uploads", "ListMultipartUploads"},
	{"versions", "ListObjectVersions"},
	{"versioning", "GetBucketVersioning"},
	{"acl", "GetBucketAcl"},
	{"policy", "GetBucketPolicy"},
	{"cors", "GetBucketCors"},
	{"tagging", "GetBucketTagging"},
	{"lifecycle", "GetBucketLifecycle"},
	{"encryption", "GetBucketEncryption"},
	{"object-lock", "GetObjectLockConfig"},
	{"website", "GetBucketWebsite"},
}

// bucketOtherSubresources are sub-resources insitu does not implement; any
// method on them answers NotImplemented rather than acting on the bucket.
var otherSubresources = []string{
	"accelerate", "analytics", "intelligent-tiering", "inventory", "logging", "metrics",
	"notification", "ownershipControls", "replication", "requestPayment",
	"policyStatus", "attributes", "retention", "legal-hold", "restore", "select", "torrent",
}

// opName classifies a request into an S3 operation name.
func opName(method, bucket, key string, q url.Values, h http.Header) string {
	if op := accessOp(method, bucket, key, q); op != "" {
		return op
	}
	if op := lifecycleOp(method, key, q); op != "" && bucket != "" {
		return op
	}
	if op := lockOp(method, key, q); op != "" && bucket != "" {
		return op
	}
	if q.Has("attributes") && key != "" && method == http.MethodGet {
		return "GetObjectAttributes"
	}
	for _, p := range otherSubresources {
		if q.Has(p) {
			return "NotImplemented"
		}
	}
	if bucket == "" {
		if method == http.MethodGet {
			return "ListBuckets"
		}
		return "MethodNotAllowed"
	}
	if key == "" {
		switch method {
		case http.MethodPut:
			if q.Has("versioning") {
				return "PutBucketVersioning"
			}
			if hasAny(q, "acl", "policy", "cors", "tagging", "lifecycle", "encryption", "website") {
				return "NotImplemented"
			}
			return "CreateBucket"
		case http.MethodDelete:
			if hasAny(q, "policy", "cors", "tagging", "lifecycle", "encryption", "website") {
				return "NotImplemented"
			}
			return "DeleteBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodPost:
			if q.Has("delete") {
				return "DeleteObjects"
			}
			return "NotImplemented"
		case http.MethodGet:
			for _, s := range bucketGetSubresources {
				if q.Has(s.param) {
					return s.op
				}
			}
			if q.Get("list-type") == "2" {
				return "ListObjectsV2"
			}
			return "ListObjects"
		}
		return "MethodNotAllowed"
	}
	switch method {
	case http.MethodPut:
		if hasAny(q, "acl", "tagging") {
			return "NotImplemented"
		}
		if q.Has("uploadId") || q.Has("partNumber") {
			if h.Get("x-amz-copy-source") != "" {
				return "UploadPartCopy"
			}
			return "UploadPart"
		}
		if h.Get("x-amz-copy-source") != "" {
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodGet:
		switch {
		case q.Has("uploadId"):
			return "ListParts"
		case q.Has("acl"):
			return "GetObjectAcl"
		case q.Has("tagging"):
			return "GetObjectTagging"
		case q.Has(paramRun):
			return "TransformObject"
		case q.Has(paramOpen):
			return "OpenObject"
		}
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodDelete:
		if q.Has("uploadId") {
			return "AbortMultipartUpload"
		}
		if q.Has("tagging") {
			return "NotImplemented"
		}
		return "DeleteObject"
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return "CreateMultipartUpload"
		case q.Has("uploadId"):
			return "CompleteMultipartUpload"
		case q.Has(paramRun):
			return "RunOnWrite"
		}
		return "NotImplemented"
	}
	return "MethodNotAllowed"
}

func hasAny(q url.Values, names ...string) bool {
	for _, n := range names {
		if q.Has(n) {
			return true
		}
	}
	return false
}
