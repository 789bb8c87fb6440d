package sigv4

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// manualRequest signs a GET whose SignedHeaders is signedList exactly (the
// SDK signer always signs host and x-amz-content-sha256). The request
// carries host, x-amz-date and x-amz-content-sha256 whether signed or not.
func manualRequest(t *testing.T, signedList string) *http.Request {
	t.Helper()
	r := httptest.NewRequest("GET", "http://127.0.0.1:9000/bucket/key.txt", nil)
	r.Host = "127.0.0.1:9000"
	r.Header.Set("X-Amz-Date", testNow.Format(amzDateLayout))
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	sc := scope{accessKey: testAK, date: testNow.Format(scopeDateLayout), region: "us-east-1", service: "s3"}
	signed, _ := splitSignedHeaders(signedList)
	cr := canonicalRequest(r, "/bucket/key.txt", "", signed, signedList, emptySHA256)
	sig := signHex(deriveSigningKey(testSecret, sc.date, sc.region, sc.service), stringToSign(r.Header.Get("X-Amz-Date"), sc, cr))
	r.Header.Set("Authorization", algorithmHMAC+" Credential="+testAK+"/"+sc.String()+", SignedHeaders="+signedList+", Signature="+sig)
	return r
}

// TestUnsignedHeaders pins issue 8 item 1 at the verifier: host and every
// x-amz-* header but x-amz-content-sha256 must be signed.
func TestUnsignedHeaders(t *testing.T) {
	v := testVerifier()
	ctx := context.Background()
	t.Run("added after signing", func(t *testing.T) {
		r := signSDK(t, sdkReq{method: "PUT", body: "x"})
		r.Header.Set("X-Amz-Copy-Source", "/b/private")
		_, err := v.Verify(ctx, r)
		if errCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "x-amz-copy-source") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("added to presigned", func(t *testing.T) {
		r := presignSDK(t, sdkReq{method: "PUT"}, 60, unsignedPayload)
		r.Header.Set("X-Amz-Meta-Evil", "1")
		if _, err := v.Verify(ctx, r); errCode(err) != "AccessDenied" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("content sha256 may stay unsigned", func(t *testing.T) {
		r := presignSDK(t, sdkReq{method: "PUT"}, 60, unsignedPayload)
		r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		if _, err := v.Verify(ctx, r); err != nil {
			t.Fatalf("presigned: %v", err)
		}
		if _, err := v.Verify(ctx, manualRequest(t, "host;x-amz-date")); err != nil {
			t.Fatalf("header: %v", err)
		}
	})
	t.Run("host not signed", func(t *testing.T) {
		_, err := v.Verify(ctx, manualRequest(t, "x-amz-content-sha256;x-amz-date"))
		if errCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "host") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestScopeRestrictions pins issue 8 item 1: a Verifier with Region and
// Services set refuses other scopes, in the header and presigned forms.
func TestScopeRestrictions(t *testing.T) {
	v := testVerifier()
	v.Region, v.Services = "us-east-1", []string{"s3"}
	ctx := context.Background()
	for _, tc := range []struct {
		region, service, header, query string
	}{
		{"us-east-1", "s3", "", ""},
		{"eu-west-1", "s3", codeHeaderMalformed, codeQueryMalformed},
		{"us-east-1", "execute-api", codeHeaderMalformed, codeQueryMalformed},
	} {
		s := sdkReq{region: tc.region, service: tc.service}
		if _, err := v.Verify(ctx, signSDK(t, s)); errCode(err) != tc.header || (tc.header == "" && err != nil) {
			t.Errorf("%s/%s header: %v", tc.region, tc.service, err)
		}
		if _, err := v.Verify(ctx, presignSDK(t, s, 60, unsignedPayload)); errCode(err) != tc.query || (tc.query == "" && err != nil) {
			t.Errorf("%s/%s presigned: %v", tc.region, tc.service, err)
		}
	}
}
