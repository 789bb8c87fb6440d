package sigv4

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPresignRejections(t *testing.T) {
	get := sdkReq{}
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		code   string
		status int
	}{
		{"expired", func(t *testing.T) *http.Request {
			return presignSDK(t, sdkReq{at: testNow.Add(-2 * time.Hour)}, 3600, unsignedPayload)
		}, "AccessDenied", 403},
		{"expires more than seven days", func(t *testing.T) *http.Request {
			return presignSDK(t, get, 604801, unsignedPayload)
		}, "AuthorizationQueryParametersError", 400},
		{"expires zero", func(t *testing.T) *http.Request {
			return presignSDK(t, get, 0, unsignedPayload)
		}, "AuthorizationQueryParametersError", 400},
		{"expires negative", func(t *testing.T) *http.Request {
			return presignSDK(t, get, -5, unsignedPayload)
		}, "AuthorizationQueryParametersError", 400},
		{"expires not a number", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-Expires", "soon")
		}, "AuthorizationQueryParametersError", 400},
		{"signed in the future", func(t *testing.T) *http.Request {
			return presignSDK(t, sdkReq{at: testNow.Add(time.Hour)}, 7200, unsignedPayload)
		}, "AccessDenied", 403},
		{"missing signature", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-Signature", "")
		}, "AuthorizationQueryParametersError", 400},
		{"missing signed headers", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-SignedHeaders", "")
		}, "AuthorizationQueryParametersError", 400},
		{"bad date", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-Date", "yesterday")
		}, "AuthorizationQueryParametersError", 400},
		{"bad credential", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-Credential", testAK+"/20261103/us-east-1/s3")
		}, "AuthorizationQueryParametersError", 400},
		{"credential date mismatch", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-Credential", testAK+"/20261102/us-east-1/s3/aws4_request")
		}, "AuthorizationQueryParametersError", 400},
		{"other algorithm", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-Algorithm", "HMAC-MD5")
		}, "AuthorizationQueryParametersError", 400},
		{"sigv4a", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256")
		}, "NotImplemented", 501},
		{"wrong secret", func(t *testing.T) *http.Request {
			return presignSDK(t, sdkReq{secret: "nope"}, 60, unsignedPayload)
		}, "SignatureDoesNotMatch", 403},
		{"unknown key", func(t *testing.T) *http.Request {
			return presignSDK(t, sdkReq{ak: "AKIDNOBODY"}, 60, unsignedPayload)
		}, "InvalidAccessKeyId", 403},
		{"expiry extended", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-Expires", "600")
		}, "SignatureDoesNotMatch", 403},
		{"parameter added", func(t *testing.T) *http.Request {
			r := presignSDK(t, get, 60, unsignedPayload)
			r.URL.RawQuery += "&versionId=1"
			return r
		}, "SignatureDoesNotMatch", 403},
		{"repeated parameter", func(t *testing.T) *http.Request {
			r := presignSDK(t, get, 60, unsignedPayload)
			r.URL.RawQuery += "&X-Amz-Date=20261103T000000Z"
			return r
		}, "AuthorizationQueryParametersError", 400},
		{"streaming payload", func(t *testing.T) *http.Request {
			return withQuery(presignSDK(t, get, 60, unsignedPayload), "X-Amz-Content-Sha256", streamingSigned)
		}, "InvalidArgument", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testVerifier().Verify(context.Background(), tc.req(t))
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Status != tc.status {
				t.Fatalf("err = %v, want %s (%d)", err, tc.code, tc.status)
			}
		})
	}
}

// withQuery sets (or, for "", deletes) one query parameter, keeping the
// others as they were encoded.
func withQuery(r *http.Request, name, value string) *http.Request {
	var parts []string
	for p := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if k, _, _ := strings.Cut(p, "="); k == name {
			continue
		}
		parts = append(parts, p)
	}
	if value != "" {
		parts = append(parts, name+"="+uriEncode(value, false))
	}
	r.URL.RawQuery = strings.Join(parts, "&")
	return r
}

// A presigned URL valid for the full seven days still works at its end.
func TestPresignSevenDays(t *testing.T) {
	r := presignSDK(t, sdkReq{at: testNow.Add(-604800 * time.Second)}, 604800, unsignedPayload)
	mustVerify(t, testVerifier(), r)
}

// X-Amz-Content-Sha256 in a presigned URL makes the body verified.
func TestPresignPayloadHash(t *testing.T) {
	body := "presigned body"
	spec := sdkReq{method: "PUT", body: body, target: "http://h/bucket/key?X-Amz-Content-Sha256=" + sha256Hex(body)}
	r := presignSDK(t, spec, 60, sha256Hex(body))
	res, got := mustVerify(t, testVerifier(), r)
	if string(got) != body || res.PayloadHash != sha256Hex(body) {
		t.Fatalf("result %+v body %q", res, got)
	}
	r = presignSDK(t, spec, 60, sha256Hex(body))
	r.Body = io.NopCloser(strings.NewReader("other"))
	res, err := testVerifier().Verify(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(res.Body); errCode(err) != "XAmzContentSHA256Mismatch" {
		t.Fatalf("err = %v", err)
	}
}

// Generic (non-S3) presigning signs the empty payload hash.
func TestPresignOtherService(t *testing.T) {
	r := presignSDK(t, sdkReq{target: "http://sts.local/?Action=GetCallerIdentity&Version=2011-06-15", service: "sts"}, 60, emptySHA256)
	res, _ := mustVerify(t, testVerifier(), r)
	if res.Service != "sts" || res.PayloadHash != emptySHA256 {
		t.Fatalf("result %+v", res)
	}
}
