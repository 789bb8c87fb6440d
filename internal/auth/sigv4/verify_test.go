package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAK     = "AKIDTESTINSITU"
	testSecret = "s3cr3t/Key+With=Odd/Chars"
)

var testNow = time.Date(2026, 11, 3, 12, 30, 0, 0, time.UTC)

func testVerifier() *Verifier {
	return &Verifier{
		Keys: mapKeys{testAK: testSecret, exampleAccessKey: exampleSecret},
		Now:  func() time.Time { return testNow },
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// sdkReq describes a request to sign with aws-sdk-go-v2's v4 signer.
type sdkReq struct {
	method, target, body string
	headers              map[string]string
	payload              string // x-amz-content-sha256; "" = hash of body, "-" = none
	ak, secret           string
	region, service      string
	at                   time.Time
}

func (s sdkReq) defaults() sdkReq {
	if s.method == "" {
		s.method = "GET"
	}
	if s.target == "" {
		s.target = "http://127.0.0.1:9000/bucket/key.txt"
	}
	if s.ak == "" {
		s.ak = testAK
	}
	if s.secret == "" {
		s.secret = testSecret
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.service == "" {
		s.service = "s3"
	}
	if s.at.IsZero() {
		s.at = testNow
	}
	return s
}

// toServer turns a client request into the request a server handler sees.
func toServer(cr *http.Request, body string) *http.Request {
	sr := httptest.NewRequest(cr.Method, cr.URL.String(), strings.NewReader(body))
	sr.Header = cr.Header.Clone()
	sr.Host = cr.URL.Host
	return sr
}

// signSDK signs the request with aws-sdk-go-v2 and returns the server view.
func signSDK(t testing.TB, s sdkReq) *http.Request {
	t.Helper()
	s = s.defaults()
	cr, err := http.NewRequest(s.method, s.target, strings.NewReader(s.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range s.headers {
		cr.Header.Set(k, v)
	}
	payload := s.payload
	switch payload {
	case "":
		payload = sha256Hex(s.body)
		cr.Header.Set("X-Amz-Content-Sha256", payload)
	case "-":
		payload = sha256Hex(s.body)
	default:
		cr.Header.Set("X-Amz-Content-Sha256", payload)
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = s.service == "s3" })
	creds := aws.Credentials{AccessKeyID: s.ak, SecretAccessKey: s.secret}
	if err := signer.SignHTTP(context.Background(), creds, cr, payload, s.service, s.region, s.at); err != nil {
		t.Fatal(err)
	}
	return toServer(cr, s.body)
}

// presignSDK presigns with aws-sdk-go-v2 (expires in seconds) and returns
// the server view.
func presignSDK(t testing.TB, s sdkReq, expires int64, payload string) *http.Request {
	t.Helper()
	s = s.defaults()
	cr, err := http.NewRequest(s.method, s.target, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := cr.URL.Query()
	q.Set("X-Amz-Expires", strconv.FormatInt(expires, 10))
	cr.URL.RawQuery = q.Encode()
	for k, v := range s.headers {
		cr.Header.Set(k, v)
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = s.service == "s3" })
	creds := aws.Credentials{AccessKeyID: s.ak, SecretAccessKey: s.secret}
	uri, hdr, err := signer.PresignHTTP(context.Background(), creds, cr, payload, s.service, s.region, s.at)
	if err != nil {
		t.Fatal(err)
	}
	sr := httptest.NewRequest(s.method, uri, strings.NewReader(s.body))
	for k, vs := range hdr {
		if !strings.EqualFold(k, "Host") {
			sr.Header[k] = vs
		}
	}
	u, _ := url.Parse(uri)
	sr.Host = u.Host
	return sr
}

// Requests signed by aws-sdk-go-v2's signer verify, with paths and queries
// that exercise the canonical forms.
func TestSDKSignerRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		req  sdkReq
	}{
		{"get object", sdkReq{}},
		{"put with body", sdkReq{method: "PUT", body: "hello, insitu"}},
		{"unsigned payload", sdkReq{method: "PUT", body: "x", payload: unsignedPayload}},
		{"reserved characters in key", sdkReq{target: "http://h:9000/bucket/" + uriEncode("a b+c=d:e@f$&,;~!'()*.txt", true)}},
		{"unicode key", sdkReq{target: "http://h/bucket/" + uriEncode("dé/jà vu/€", true)}},
		{"escaped slash in key", sdkReq{target: "http://h/bucket/a%2Fb"}},
		{"double slash", sdkReq{target: "http://h/bucket//x//y"}},
		{"dollar unescaped", sdkReq{target: "http://h/bucket/a$b"}},
		{"encoded unreserved", sdkReq{target: "http://h/bucket/%7Euser"}},
		{"query with space and plus", sdkReq{target: "http://h/bucket?prefix=a%20b%2Bc&delimiter=%2F&list-type=2"}},
		{"query literal plus", sdkReq{target: "http://h/bucket?prefix=a+b"}},
		{"query repeated and empty", sdkReq{target: "http://h/bucket?b=2&a=2&a=1&uploads&c="}},
		{"query special", sdkReq{target: "http://h/bucket?x=%E2%82%AC%3D%26"}},
		{"extra headers", sdkReq{method: "PUT", body: "b", headers: map[string]string{
			"Content-Type": "text/plain", "X-Amz-Meta-Spaces": "  a   b  c ", "Content-MD5": "abc=",
			"X-Amz-Checksum-Crc32": "AAAAAA==", "x-amz-sdk-checksum-algorithm": "CRC32"}}},
		{"other region", sdkReq{region: "eu-central-1"}},
		{"skew within limit", sdkReq{at: testNow.Add(-14 * time.Minute)}},
		{"port in host", sdkReq{target: "http://localhost:12345/b/k"}},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/header", func(t *testing.T) {
			res, body := mustVerify(t, testVerifier(), signSDK(t, tc.req))
			if string(body) != tc.req.body {
				t.Errorf("body %q", body)
			}
			if res.Credential.AccessKey != testAK || res.Presigned || res.Service != "s3" {
				t.Errorf("result %+v", res)
			}
			if want := tc.req.defaults().region; res.Region != want {
				t.Errorf("region %q, want %q", res.Region, want)
			}
		})
		t.Run(tc.name+"/presign", func(t *testing.T) {
			r := tc.req
			r.body = ""
			res, _ := mustVerify(t, testVerifier(), presignSDK(t, r, 3600, unsignedPayload))
			if !res.Presigned || res.PayloadHash != unsignedPayload {
				t.Errorf("result %+v", res)
			}
		})
	}
}

// Header-authenticated requests that must be refused, each with S3's code.
func TestHeaderRejections(t *testing.T) {
	good := sdkReq{method: "PUT", body: "payload"}
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		code   string
		status int
	}{
		{"wrong secret", func(t *testing.T) *http.Request {
			return signSDK(t, sdkReq{method: "PUT", body: "payload", secret: "wrong"})
		}, "SignatureDoesNotMatch", 403},
		{"unknown key", func(t *testing.T) *http.Request {
			return signSDK(t, sdkReq{ak: "AKIDNOBODY"})
		}, "InvalidAccessKeyId", 403},
		{"clock ahead", func(t *testing.T) *http.Request {
			return signSDK(t, sdkReq{at: testNow.Add(16 * time.Minute)})
		}, "RequestTimeTooSkewed", 403},
		{"clock behind", func(t *testing.T) *http.Request {
			return signSDK(t, sdkReq{at: testNow.Add(-16 * time.Minute)})
		}, "RequestTimeTooSkewed", 403},
		{"anonymous", func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "http://h/bucket/key", nil)
		}, "AccessDenied", 403},
		{"sigv2 header", func(t *testing.T) *http.Request {
			r := httptest.NewRequest("GET", "http://h/bucket/key", nil)
			r.Header.Set("Authorization", "AWS "+testAK+":frJIUN8DYpKDtOLCwo//yllqDzg=")
			r.Header.Set("Date", testNow.Format(http.TimeFormat))
			return r
		}, "InvalidRequest", 400},
		{"sigv2 query", func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "http://h/bucket/key?AWSAccessKeyId="+testAK+"&Expires=1&Signature=abc", nil)
		}, "InvalidRequest", 400},
		{"other scheme", func(t *testing.T) *http.Request {
			r := httptest.NewRequest("GET", "http://h/bucket/key", nil)
			r.Header.Set("Authorization", "Bearer abc")
			return r
		}, "InvalidArgument", 400},
		{"sigv4a header", func(t *testing.T) *http.Request {
			r := signSDK(t, good)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
			return r
		}, "NotImplemented", 501},
		{"sigv4a streaming payload", func(t *testing.T) *http.Request {
			return signSDK(t, sdkReq{method: "PUT", payload: streamingECDSA, headers: map[string]string{"X-Amz-Decoded-Content-Length": "0"}})
		}, "NotImplemented", 501},
		{"header and query", func(t *testing.T) *http.Request {
			r := signSDK(t, good)
			r.URL.RawQuery = "X-Amz-Signature=abc"
			return r
		}, "InvalidArgument", 400},
		{"missing signature", func(t *testing.T) *http.Request {
			return withAuth(signSDK(t, good), func(a string) string { return a[:strings.Index(a, ", Signature=")] })
		}, "AuthorizationHeaderMalformed", 400},
		{"credential without terminator", func(t *testing.T) *http.Request {
			return withAuth(signSDK(t, good), func(a string) string { return strings.Replace(a, "/aws4_request", "/aws5_request", 1) })
		}, "AuthorizationHeaderMalformed", 400},
		{"credential with four parts", func(t *testing.T) *http.Request {
			return withAuth(signSDK(t, good), func(a string) string { return strings.Replace(a, "/us-east-1", "", 1) })
		}, "AuthorizationHeaderMalformed", 400},
		{"credential bad date", func(t *testing.T) *http.Request {
			return withAuth(signSDK(t, good), func(a string) string { return strings.Replace(a, "/20261103/", "/2026113/", 1) })
		}, "AuthorizationHeaderMalformed", 400},
		{"scope date is not the request date", func(t *testing.T) *http.Request {
			return withAuth(signSDK(t, good), func(a string) string { return strings.Replace(a, "/20261103/", "/20261102/", 1) })
		}, "AuthorizationHeaderMalformed", 400},
		{"unknown component", func(t *testing.T) *http.Request {
			return withAuth(signSDK(t, good), func(a string) string { return a + ", Foo=bar" })
		}, "AuthorizationHeaderMalformed", 400},
		{"empty signed header name", func(t *testing.T) *http.Request {
			return withAuth(signSDK(t, good), func(a string) string { return strings.Replace(a, "SignedHeaders=", "SignedHeaders=;", 1) })
		}, "AuthorizationHeaderMalformed", 400},
		{"no date", func(t *testing.T) *http.Request {
			r := signSDK(t, good)
			r.Header.Del("X-Amz-Date")
			return r
		}, "AccessDenied", 403},
		{"bad date", func(t *testing.T) *http.Request {
			r := signSDK(t, good)
			r.Header.Set("X-Amz-Date", "2026-11-03T12:30:00Z")
			return r
		}, "AccessDenied", 403},
		{"missing x-amz-content-sha256, body altered", func(t *testing.T) *http.Request {
			r := signSDK(t, sdkReq{method: "PUT", payload: "-", body: "signed"})
			return toServer(r, "altered")
		}, "SignatureDoesNotMatch", 403},
		{"invalid x-amz-content-sha256", func(t *testing.T) *http.Request {
			return signSDK(t, sdkReq{payload: "not-a-hash"})
		}, "InvalidArgument", 400},
		{"streaming without decoded length", func(t *testing.T) *http.Request {
			return signSDK(t, sdkReq{method: "PUT", payload: streamingSigned})
		}, "MissingContentLength", 411},
		{"signed header changed", func(t *testing.T) *http.Request {
			r := signSDK(t, sdkReq{headers: map[string]string{"Range": "bytes=0-9"}})
			r.Header.Set("Range", "bytes=0-99")
			return r
		}, "SignatureDoesNotMatch", 403},
		{"query changed", func(t *testing.T) *http.Request {
			r := signSDK(t, sdkReq{target: "http://h/bucket?prefix=a"})
			r.URL.RawQuery = "prefix=b"
			return r
		}, "SignatureDoesNotMatch", 403},
		{"method changed", func(t *testing.T) *http.Request {
			r := signSDK(t, sdkReq{})
			r.Method = "DELETE"
			return r
		}, "SignatureDoesNotMatch", 403},
		{"host changed", func(t *testing.T) *http.Request {
			r := signSDK(t, sdkReq{})
			r.Host = "evil:9000"
			return r
		}, "SignatureDoesNotMatch", 403},
		{"path changed", func(t *testing.T) *http.Request {
			r := signSDK(t, sdkReq{})
			r.URL.Path = "/bucket/other.txt"
			return r
		}, "SignatureDoesNotMatch", 403},
		{"signature not hex", func(t *testing.T) *http.Request {
			return withAuth(signSDK(t, good), func(a string) string { return a[:len(a)-1] + "z" })
		}, "SignatureDoesNotMatch", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testVerifier().Verify(context.Background(), tc.req(t))
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Status != tc.status {
				t.Fatalf("err = %v, want %s (%d)", err, tc.code, tc.status)
			}
			if e.Message == "" || !strings.Contains(e.Error(), tc.code) {
				t.Errorf("error text %q", e.Error())
			}
		})
	}
}

func withAuth(r *http.Request, f func(string) string) *http.Request {
	r.Header.Set("Authorization", f(r.Header.Get("Authorization")))
	return r
}

// A hex x-amz-content-sha256 that does not match the body fails at EOF.
func TestPayloadHashMismatch(t *testing.T) {
	r := signSDK(t, sdkReq{method: "PUT", body: "signed body"})
	r.Body = io.NopCloser(strings.NewReader("other body!"))
	res, err := testVerifier().Verify(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(res.Body)
	if errCode(err) != "XAmzContentSHA256Mismatch" {
		t.Fatalf("err = %v", err)
	}
	var e *Error
	if errors.As(err, &e); e.Status != 400 {
		t.Errorf("status %d", e.Status)
	}
	// A body that ends early fails the same way.
	r = signSDK(t, sdkReq{method: "PUT", body: "signed body"})
	r.Body = io.NopCloser(strings.NewReader("signed"))
	res, _ = testVerifier().Verify(context.Background(), r)
	if _, err := io.ReadAll(res.Body); errCode(err) != "XAmzContentSHA256Mismatch" {
		t.Fatalf("short body: err = %v", err)
	}
}

// Services other than S3 sign the body hash without sending it; the
// verifier hashes the (small) body itself.
func TestNonS3ServiceWithoutContentHash(t *testing.T) {
	form := "Action=DescribeInstances&Version=2016-11-15"
	r := signSDK(t, sdkReq{
		method: "POST", target: "http://127.0.0.1:8080/services/compute", body: form, payload: "-",
		service: "ec2", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
	})
	res, body := mustVerify(t, testVerifier(), r)
	if string(body) != form || res.Service != "ec2" || res.PayloadHash != sha256Hex(form) {
		t.Fatalf("result %+v body %q", res, body)
	}
	// Tampered body: the signature no longer matches.
	r = signSDK(t, sdkReq{method: "POST", target: "http://h/services/compute", body: form, payload: "-", service: "ec2"})
	r.Body = io.NopCloser(strings.NewReader(form + "&DryRun=true"))
	if _, err := testVerifier().Verify(context.Background(), r); errCode(err) != "SignatureDoesNotMatch" {
		t.Fatalf("tampered: err = %v", err)
	}
	// Too large to buffer.
	big := strings.Repeat("a", MaxBufferedPayload+1)
	r = signSDK(t, sdkReq{method: "POST", target: "http://h/services/compute", body: big, payload: "-", service: "ec2"})
	if _, err := testVerifier().Verify(context.Background(), r); errCode(err) != "InvalidRequest" {
		t.Fatalf("large: err = %v", err)
	}
	// A path with characters the generic algorithm encodes twice.
	r = signSDK(t, sdkReq{target: "http://h/services/a%20b", payload: "-", service: "execute-api"})
	mustVerify(t, testVerifier(), r)
}

type failingKeys struct{}

func (failingKeys) Lookup(context.Context, string) (Credential, error) {
	return Credential{}, errors.New("store unavailable")
}

// A KeyStore failure is an internal error, not an authentication failure.
func TestKeyStoreFailure(t *testing.T) {
	v := &Verifier{Keys: failingKeys{}, Now: func() time.Time { return testNow }}
	_, err := v.Verify(context.Background(), signSDK(t, sdkReq{}))
	var e *Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "store unavailable") {
		t.Fatalf("err = %v", err)
	}
}

// Defaults: a nil Now is the wall clock and a zero MaxSkew is 15 minutes.
func TestDefaults(t *testing.T) {
	v := &Verifier{Keys: mapKeys{testAK: testSecret}}
	now := time.Now()
	if _, err := v.Verify(context.Background(), signSDK(t, sdkReq{at: now.Add(-14 * time.Minute)})); err != nil {
		t.Fatalf("14 minutes old: %v", err)
	}
	if _, err := v.Verify(context.Background(), signSDK(t, sdkReq{at: now.Add(-16 * time.Minute)})); errCode(err) != "RequestTimeTooSkewed" {
		t.Fatalf("16 minutes old: %v", err)
	}
	v.MaxSkew = time.Minute
	if _, err := v.Verify(context.Background(), signSDK(t, sdkReq{at: now.Add(-2 * time.Minute)})); errCode(err) != "RequestTimeTooSkewed" {
		t.Fatalf("MaxSkew 1m: %v", err)
	}
}

// One Verifier serves many goroutines; the signing-key cache stays bounded.
func TestConcurrentVerify(t *testing.T) {
	v := testVerifier()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				region := fmt.Sprintf("region-%d", (g*50+i)%300)
				_, body := mustVerify(t, v, signSDK(t, sdkReq{method: "PUT", body: region, region: region}))
				if string(body) != region {
					t.Errorf("body %q", body)
				}
			}
		}()
	}
	wg.Wait()
	v.mu.Lock()
	n := len(v.cache)
	v.mu.Unlock()
	if n > signingKeyCacheSize {
		t.Errorf("cache holds %d keys", n)
	}
}
