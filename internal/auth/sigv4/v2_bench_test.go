package sigv4

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkVerifyV2Header measures one SigV2 header verification (the key
// lookup is a map; the HMAC-SHA1 over the string to sign dominates).
func BenchmarkVerifyV2Header(b *testing.B) {
	v := testVerifier()
	r := httptest.NewRequest("GET", "http://h/bucket/some/key.txt?versionId=null", nil)
	r.Header.Set("Date", testNow.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Meta-A", "b")
	signV2(v, r, testAK, testSecret)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyS3(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyV4Header is the same request signed with SigV4, for
// comparison.
func BenchmarkVerifyV4Header(b *testing.B) {
	v := testVerifier()
	r := signSDK(b, sdkReq{target: "http://h/bucket/some/key.txt?versionId=null", headers: map[string]string{"X-Amz-Meta-A": "b"}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyS3(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
