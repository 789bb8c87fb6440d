package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signV2 signs r in place with SigV2 (header form) using the package's own
// string to sign; the AWS vectors below pin that down.
func signV2(v *Verifier, r *http.Request, ak, secret string) {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(v2StringToSign(r, r.Header.Get("Date"), v.v2Resource(r, r.URL.EscapedPath()))))
	r.Header.Set("Authorization", "AWS "+ak+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// presignV2 adds SigV2 query parameters to r.
func presignV2(v *Verifier, r *http.Request, ak, secret string, expires int64) {
	exp := strconv.FormatInt(expires, 10)
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(v2StringToSign(r, exp, v.v2Resource(r, r.URL.EscapedPath()))))
	q := r.URL.Query()
	q.Set("AWSAccessKeyId", ak)
	q.Set("Expires", exp)
	q.Set("Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.RequestURI()
}

// TestV2Vectors checks the worked examples of Amazon S3's SigV2
// documentation (virtual-host bucket johnsmith, the example key).
func TestV2Vectors(t *testing.T) {
	tests := []struct {
		name, method, target, date, sig string
		headers                         map[string]string
	}{
		{"object GET", "GET", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg",
			"Tue, 27 Mar 2007 19:36:42 +0000", "bWq2s1WEIj+Ydj0vQ697zp+IXMU=", nil},
		{"object PUT", "PUT", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg",
			"Tue, 27 Mar 2007 21:15:45 +0000", "MyyxeRY7whkBe+bq8fHCL/2kKUg=", map[string]string{"Content-Type": "image/jpeg"}},
		{"list (query not signed)", "GET", "http://johnsmith.s3.amazonaws.com/?prefix=photos&max-keys=50&marker=puppy",
			"Tue, 27 Mar 2007 19:42:41 +0000", "htDYFYduRNen8P9ZfE/s9SuKy0U=", nil},
		{"acl sub-resource", "GET", "http://johnsmith.s3.amazonaws.com/?acl",
			"Tue, 27 Mar 2007 19:44:46 +0000", "c2WLPFtWHVgbEmeEG93a4cG37dM=", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC1123Z, tc.date)
			if err != nil {
				t.Fatal(err)
			}
			v := &Verifier{Keys: mapKeys{exampleAccessKey: exampleSecret}, Now: func() time.Time { return at }, Domain: "s3.amazonaws.com"}
			r := httptest.NewRequest(tc.method, tc.target, nil)
			r.Header.Set("Date", tc.date)
			for k, val := range tc.headers {
				r.Header.Set(k, val)
			}
			r.Header.Set("Authorization", "AWS "+exampleAccessKey+":"+tc.sig)
			res, err := v.VerifyS3(context.Background(), r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !res.SignatureV2 || res.Credential.AccessKey != exampleAccessKey {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestV2HeaderAndQuery(t *testing.T) {
	v := testVerifier()
	newReq := func(method, target, body string) *http.Request {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Date", testNow.Format(http.TimeFormat))
		return r
	}
	t.Run("header with x-amz headers and sub-resources", func(t *testing.T) {
		r := newReq("PUT", "http://h/bucket/a%20key?partNumber=2&uploadId=xyz", "data")
		r.Header.Set("Content-Type", "text/plain")
		r.Header.Set("X-Amz-Meta-Who", "me")
		r.Header.Set("x-amz-date", testNow.Format(http.TimeFormat))
		r.Header.Del("Date")
		signV2(v, r, testAK, testSecret)
		_, body := mustVerifyS3(t, v, r)
		if string(body) != "data" {
			t.Errorf("body %q", body)
		}
	})
	t.Run("x-amz-date with an empty Date line", func(t *testing.T) {
		r := newReq("GET", "http://h/bucket/key", "")
		r.Header.Set("x-amz-date", testNow.Format(http.TimeFormat))
		r.Header.Set("Date", "ignored")
		mac := hmac.New(sha1.New, []byte(testSecret))
		mac.Write([]byte(v2StringToSign(r, "", "/bucket/key")))
		r.Header.Set("Authorization", "AWS "+testAK+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		mustVerifyS3(t, v, r)
	})
	t.Run("presigned", func(t *testing.T) {
		r := httptest.NewRequest("GET", "http://h/bucket/key?response-content-type=text/x", nil)
		presignV2(v, r, testAK, testSecret, testNow.Unix()+60)
		mustVerifyS3(t, v, r)
	})
	rejections := []struct {
		name, code string
		status     int
		req        func() *http.Request
	}{
		{"x-amz header added after signing", "SignatureDoesNotMatch", 403, func() *http.Request {
			r := newReq("PUT", "http://h/bucket/key", "x")
			signV2(v, r, testAK, testSecret)
			r.Header.Set("X-Amz-Copy-Source", "other/key")
			return r
		}},
		{"sub-resource added after signing", "SignatureDoesNotMatch", 403, func() *http.Request {
			r := newReq("GET", "http://h/bucket/key", "")
			signV2(v, r, testAK, testSecret)
			r.URL.RawQuery = "acl"
			return r
		}},
		{"wrong secret", "SignatureDoesNotMatch", 403, func() *http.Request {
			r := newReq("GET", "http://h/bucket/key", "")
			signV2(v, r, testAK, "nope")
			return r
		}},
		{"unknown key", "InvalidAccessKeyId", 403, func() *http.Request {
			r := newReq("GET", "http://h/bucket/key", "")
			signV2(v, r, "AKNOBODY", "x")
			return r
		}},
		{"skewed", "RequestTimeTooSkewed", 403, func() *http.Request {
			r := newReq("GET", "http://h/bucket/key", "")
			r.Header.Set("Date", testNow.Add(-16*time.Minute).Format(http.TimeFormat))
			signV2(v, r, testAK, testSecret)
			return r
		}},
		{"no date", "AccessDenied", 403, func() *http.Request {
			r := newReq("GET", "http://h/bucket/key", "")
			r.Header.Del("Date")
			signV2(v, r, testAK, testSecret)
			return r
		}},
		{"malformed header", "InvalidArgument", 400, func() *http.Request {
			r := newReq("GET", "http://h/bucket/key", "")
			r.Header.Set("Authorization", "AWS nocolon")
			return r
		}},
		{"presigned expired", "AccessDenied", 403, func() *http.Request {
			r := httptest.NewRequest("GET", "http://h/bucket/key", nil)
			presignV2(v, r, testAK, testSecret, testNow.Unix()-1)
			return r
		}},
		{"presigned tampered", "SignatureDoesNotMatch", 403, func() *http.Request {
			r := httptest.NewRequest("GET", "http://h/bucket/key", nil)
			presignV2(v, r, testAK, testSecret, testNow.Unix()+60)
			r.Method = "DELETE"
			return r
		}},
		{"presigned missing signature", "AccessDenied", 403, func() *http.Request {
			return httptest.NewRequest("GET", "http://h/bucket/key?AWSAccessKeyId="+testAK+"&Expires=9999999999", nil)
		}},
	}
	for _, tc := range rejections {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.VerifyS3(context.Background(), tc.req())
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Status != tc.status {
				t.Fatalf("err = %v, want %s (%d)", err, tc.code, tc.status)
			}
		})
	}
}

// FuzzVerifyV2 feeds arbitrary SigV2 headers and URLs to Verify: it must
// never panic, and a request signed by signV2 or presignV2 must verify
// whatever its path, query and x-amz-* header.
func FuzzVerifyV2(f *testing.F) {
	f.Add("GET", "/bucket/key", "acl&x=1", "AWS "+testAK+":abc=", "x-amz-meta-a", "v", true)
	f.Add("PUT", "/b/a%20b", "uploadId=1&partNumber=2", "AWS :", "x-amz-acl", "public-read", false)
	f.Add("GET", "/", "AWSAccessKeyId=x&Expires=1&Signature=%%", "", "x-amz-date", "bad", false)
	f.Fuzz(func(t *testing.T, method, path, query, authz, hname, hval string, presign bool) {
		v := testVerifier()
		r, err := http.NewRequest(method, "http://h"+path+"?"+query, nil)
		if err != nil || r.URL.Host != "h" || !strings.HasPrefix(r.URL.Path, "/") {
			return
		}
		if hname != "" {
			if !fuzzHeaderName(hname) || strings.ContainsAny(hval, "\r\n\x00") {
				return
			}
			r.Header.Set(hname, hval)
		}
		r.Header.Set("Date", testNow.Format(http.TimeFormat))
		if authz != "" {
			r.Header.Set("Authorization", authz)
			_, _ = v.VerifyS3(context.Background(), r) // must not panic
		}
		r.Header.Del("Authorization")
		q := parseQuery(r.URL.RawQuery)
		for _, k := range []string{"AWSAccessKeyId", "Signature", "Expires", "X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential"} {
			if _, ok := q[k]; ok {
				_, _ = v.VerifyS3(context.Background(), r)
				return
			}
		}
		if strings.EqualFold(hname, "x-amz-date") || strings.EqualFold(hname, "date") {
			return
		}
		if presign {
			presignV2(v, r, testAK, testSecret, testNow.Unix()+60)
		} else {
			signV2(v, r, testAK, testSecret)
		}
		if _, err := v.VerifyS3(context.Background(), r); err != nil {
			t.Fatalf("signed request refused: %v (%s %q)", err, method, r.URL.RawQuery)
		}
	})
}

func fuzzHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '-' && !('0' <= c && c <= '9') && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

func TestMissingContentSHA256(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", (MaxBufferedPayload/16)+10)
	for _, tc := range []struct {
		name              string
		signed, sent      string
		chunked, deferred bool
		wantErr           string
	}{
		{"small body", "hello", "hello", false, false, ""},
		{"small body altered", "hello", "hellO", false, false, "SignatureDoesNotMatch"},
		{"large body", big, big, false, true, ""},
		{"large body altered", big, big[:len(big)-1] + "X", false, true, "SignatureDoesNotMatch"},
		{"unknown length", "stream", "stream", true, true, ""},
		{"unknown length altered", "stream", "streaM", true, true, "SignatureDoesNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := signSDK(t, sdkReq{method: "PUT", payload: "-", body: tc.signed})
			if tc.chunked {
				r = signUnknownLength(t, tc.signed)
			}
			r.Body = io.NopCloser(strings.NewReader(tc.sent))
			res, err := testVerifier().VerifyS3(context.Background(), r)
			if err == nil && res.Deferred != tc.deferred {
				t.Errorf("Deferred = %v", res.Deferred)
			}
			if err == nil {
				var body []byte
				body, err = io.ReadAll(res.Body)
				if err == nil && string(body) != tc.sent {
					t.Errorf("body differs")
				}
			}
			if got := errCode(err); got != tc.wantErr || (tc.wantErr == "" && err != nil) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// signUnknownLength signs a PUT whose length is not declared (plain HTTP
// chunking), with no x-amz-content-sha256, as curl --aws-sigv4 does.
func signUnknownLength(t *testing.T, body string) *http.Request {
	cr, err := http.NewRequest("PUT", "http://h/bucket/key", io.NopCloser(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, cr, sha256Hex(body), "s3", "us-east-1", testNow); err != nil {
		t.Fatal(err)
	}
	r := toServer(cr, body)
	r.ContentLength = -1
	return r
}

// mustVerifyS3 verifies r as the S3 face does and reads its whole body.
func mustVerifyS3(t *testing.T, v *Verifier, r *http.Request) (*Result, []byte) {
	t.Helper()
	res, err := v.VerifyS3(context.Background(), r)
	if err != nil {
		t.Fatalf("VerifyS3: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return res, body
}

// TestOtherFacesRefuseS3Only checks that Verify (the native, service and
// EC2 faces) still refuses SigV2 and bodies it cannot check up front.
func TestOtherFacesRefuseS3Only(t *testing.T) {
	v := testVerifier()
	r := httptest.NewRequest("GET", "http://h/bucket/key", nil)
	r.Header.Set("Date", testNow.Format(http.TimeFormat))
	signV2(v, r, testAK, testSecret)
	if _, err := v.Verify(context.Background(), r); errCode(err) != "InvalidRequest" {
		t.Errorf("SigV2 header: %v", err)
	}
	r = httptest.NewRequest("GET", "http://h/bucket/key", nil)
	presignV2(v, r, testAK, testSecret, testNow.Unix()+60)
	if _, err := v.Verify(context.Background(), r); errCode(err) != "InvalidRequest" {
		t.Errorf("SigV2 URL: %v", err)
	}
	r = signUnknownLength(t, "stream")
	if _, err := v.Verify(context.Background(), r); errCode(err) != "InvalidRequest" {
		t.Errorf("unknown length without x-amz-content-sha256: %v", err)
	}
	r = signSDK(t, sdkReq{method: "PUT", payload: "-", body: "small"})
	if _, body := mustVerify(t, v, r); string(body) != "small" {
		t.Errorf("small body without x-amz-content-sha256: %q", body)
	}
}
