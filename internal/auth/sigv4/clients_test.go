package sigv4

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	miniosigner "github.com/minio/minio-go/v7/pkg/signer"
)

// seen is what the test server's handler observed for one request.
type seen struct {
	method, path string
	payloadHash  string
	body         []byte
	trailer      http.Header
	err          error
}

// recorder is an S3-ish server that authenticates every request with a
// Verifier (real clock) and reads the verified body.
type recorder struct {
	v  *Verifier
	mu sync.Mutex
	// last request that carried a body or failed
	got []seen
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := seen{method: r.Method, path: r.URL.Path}
	res, err := rec.v.Verify(r.Context(), r)
	if err == nil {
		s.payloadHash = res.PayloadHash
		s.body, err = io.ReadAll(res.Body)
		s.trailer = res.Trailer()
	}
	s.err = err
	rec.mu.Lock()
	rec.got = append(rec.got, s)
	rec.mu.Unlock()
	if err != nil {
		var e *Error
		status, code := 500, "InternalError"
		if errors.As(err, &e) {
			status, code = e.Status, e.Code
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>1</RequestId></Error>", code, "denied")
		return
	}
	w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
	if r.Method == http.MethodGet {
		w.Header().Set("Last-Modified", "Tue, 03 Nov 2026 12:00:00 GMT")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	}
}

func (rec *recorder) last(t *testing.T) seen {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.got) == 0 {
		t.Fatal("server saw no request")
	}
	return rec.got[len(rec.got)-1]
}

func startServer(t *testing.T, tls bool) (*recorder, *httptest.Server) {
	rec := &recorder{v: &Verifier{Keys: mapKeys{testAK: testSecret}}}
	srv := httptest.NewUnstartedServer(rec)
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Config.ReadTimeout = 30 * time.Second
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	srv.Client().Timeout = time.Minute
	t.Cleanup(srv.Close)
	return rec, srv
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func minioClient(t *testing.T, srv *httptest.Server, tls, trailing bool, secret string) *minio.Client {
	endpoint := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
	opts := &minio.Options{
		Creds:           miniocreds.NewStaticV4(testAK, secret, ""),
		Secure:          tls,
		Region:          "us-east-1",
		BucketLookup:    minio.BucketLookupPath,
		TrailingHeaders: trailing,
		MaxRetries:      1,
	}
	if tls {
		opts.Transport = srv.Client().Transport
	}
	c, err := minio.New(endpoint, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// minio-go's PutObject over HTTP signs every chunk; with TrailingHeaders it
// adds a signed CRC32C trailer (HTTP) or an unsigned one (HTTPS).
func TestMinioClient(t *testing.T) {
	data := randomBytes(t, 300<<10+17)
	tests := []struct {
		name            string
		tls, trailing   bool
		wantHash        string
		wantTrailerName string
	}{
		// A single PutObject carries no trailer even with TrailingHeaders
		// (minio-go sends trailers on multipart parts); the trailer forms
		// are driven through minio-go's signer in TestMinioSignerTrailers.
		{"http", false, false, streamingSigned, ""},
		{"http trailing headers", false, true, streamingSigned, ""},
		{"https", true, false, unsignedPayload, ""},
		{"https trailing headers", true, true, unsignedPayload, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, srv := startServer(t, tc.tls)
			c := minioClient(t, srv, tc.tls, tc.trailing, testSecret)
			ctx := context.Background()
			_, err := c.PutObject(ctx, "bucket", "dir/some key+€.bin", bytes.NewReader(data), int64(len(data)),
				minio.PutObjectOptions{ContentType: "application/octet-stream", UserMetadata: map[string]string{"Note": "a  b"}})
			if err != nil {
				t.Fatalf("PutObject: %v (server: %+v)", err, rec.last(t).err)
			}
			s := rec.last(t)
			if s.err != nil || s.payloadHash != tc.wantHash {
				t.Fatalf("server: hash %q err %v", s.payloadHash, s.err)
			}
			if !bytes.Equal(s.body, data) {
				t.Fatalf("server decoded %d bytes, client sent %d", len(s.body), len(data))
			}
			if tc.wantTrailerName != "" {
				v := s.trailer[tc.wantTrailerName]
				sum := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
				want := base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
				if len(v) != 1 || v[0] != want {
					t.Errorf("trailer %s = %v, want %s (all: %v)", tc.wantTrailerName, v, want, s.trailer)
				}
			}
			// A download and a presigned URL.
			obj, err := c.GetObject(ctx, "bucket", "k", minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if b, err := io.ReadAll(obj); err != nil || string(b) != "hello" {
				t.Fatalf("GetObject: %q %v (server: %v)", b, err, rec.last(t).err)
			}
			u, err := c.PresignedGetObject(ctx, "bucket", "a b/c", time.Hour, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Get(u.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || !rec.last(t).payloadHashIs(unsignedPayload) {
				t.Fatalf("presigned GET: %d %v", resp.StatusCode, rec.last(t).err)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		rec, srv := startServer(t, false)
		c := minioClient(t, srv, false, false, "not-the-secret")
		_, err := c.PutObject(context.Background(), "bucket", "k", bytes.NewReader(data[:100]), 100, minio.PutObjectOptions{})
		if code := minio.ToErrorResponse(err).Code; code != "SignatureDoesNotMatch" {
			t.Fatalf("err = %v (code %q)", err, code)
		}
		if errCode(rec.last(t).err) != "SignatureDoesNotMatch" {
			t.Fatalf("server err %v", rec.last(t).err)
		}
	})
}

func (s seen) payloadHashIs(h string) bool { return s.err == nil && s.payloadHash == h }

func s3Client(t *testing.T, srv *httptest.Server, checksums aws.RequestChecksumCalculation) *s3.Client {
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(testAK, testSecret, ""),
		BaseEndpoint:               aws.String(srv.URL),
		UsePathStyle:               true,
		HTTPClient:                 srv.Client(),
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: checksums,
	})
}

// aws-sdk-go-v2's PutObject: over HTTP a signed payload (the checksum is a
// signed header); over HTTPS STREAMING-UNSIGNED-PAYLOAD-TRAILER with a
// CRC32 trailer; with checksums only when required, a plain signed body.
func TestAWSSDKClient(t *testing.T) {
	data := randomBytes(t, 200<<10+3)
	sum := crc32.ChecksumIEEE(data)
	wantCRC := base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	tests := []struct {
		name        string
		tls         bool
		checksums   aws.RequestChecksumCalculation
		wantHash    string // "" = hex of the body
		wantTrailer bool
	}{
		{"http", false, aws.RequestChecksumCalculationWhenSupported, "", false},
		{"https", true, aws.RequestChecksumCalculationWhenSupported, streamingUnsignedTrailr, true},
		{"https when required", true, aws.RequestChecksumCalculationWhenRequired, unsignedPayload, false},
		{"http when required", false, aws.RequestChecksumCalculationWhenRequired, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, srv := startServer(t, tc.tls)
			c := s3Client(t, srv, tc.checksums)
			ctx := context.Background()
			_, err := c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String("bucket"), Key: aws.String("dir/ünï code & spaces+plus.txt"),
				Body: bytes.NewReader(data), Metadata: map[string]string{"a": "b"},
			})
			if err != nil {
				t.Fatalf("PutObject: %v (server %v)", err, rec.last(t).err)
			}
			s := rec.last(t)
			want := tc.wantHash
			if want == "" {
				want = sha256Hex(string(data))
			}
			if s.err != nil || s.payloadHash != want {
				t.Fatalf("server: hash %q (want %q) err %v", s.payloadHash, want, s.err)
			}
			if !bytes.Equal(s.body, data) {
				t.Fatalf("server decoded %d bytes, client sent %d", len(s.body), len(data))
			}
			if tc.wantTrailer {
				if v := s.trailer["x-amz-checksum-crc32"]; len(v) != 1 || v[0] != wantCRC {
					t.Errorf("trailer = %v, want crc32 %s", s.trailer, wantCRC)
				}
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String("k")})
			if err != nil {
				t.Fatalf("GetObject: %v (server %v)", err, rec.last(t).err)
			}
			b, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if string(b) != "hello" {
				t.Fatalf("GetObject body %q", b)
			}
			// Presigned GET and PUT.
			ps := s3.NewPresignClient(c)
			pg, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String("a b/c+d")},
				s3.WithPresignExpires(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Get(pg.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || !rec.last(t).payloadHashIs(unsignedPayload) {
				t.Fatalf("presigned GET: %d %v", resp.StatusCode, rec.last(t).err)
			}
			pp, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("up")})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(pp.Method, pp.URL, bytes.NewReader(data[:1000]))
			for k, vs := range pp.SignedHeader {
				if !strings.EqualFold(k, "Host") {
					req.Header[k] = vs
				}
			}
			resp, err = srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if s := rec.last(t); resp.StatusCode != 200 || s.err != nil || !bytes.Equal(s.body, data[:1000]) {
				t.Fatalf("presigned PUT: %d %v", resp.StatusCode, s.err)
			}
		})
	}
}

// sha256Hasher adapts crypto/sha256 to minio-go's hasher interface.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// minio-go's own signer for the trailer forms: STREAMING-AWS4-HMAC-SHA256-
// PAYLOAD-TRAILER (signed chunks and a signed CRC32C trailer, with minio-go's
// line ends) and STREAMING-UNSIGNED-PAYLOAD-TRAILER, sent over real HTTP.
func TestMinioSignerTrailers(t *testing.T) {
	data := randomBytes(t, 150<<10+5)
	sum := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
	crc := base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	tests := []struct {
		name     string
		sign     func(r *http.Request, trailer http.Header) *http.Request
		wantHash string
	}{
		{"signed trailer", func(r *http.Request, trailer http.Header) *http.Request {
			r.Trailer = trailer
			return miniosigner.StreamingSignV4(r, testAK, testSecret, "", "us-east-1", int64(len(data)), time.Now().UTC(), sha256Hasher{sha256.New()})
		}, streamingSignedTrailer},
		{"unsigned trailer", func(r *http.Request, trailer http.Header) *http.Request {
			r.Header.Set("X-Amz-Content-Sha256", streamingUnsignedTrailr)
			return miniosigner.SignV4Trailer(*r, testAK, testSecret, "", "us-east-1", trailer)
		}, streamingUnsignedTrailr},
		{"signed no trailer", func(r *http.Request, _ http.Header) *http.Request {
			return miniosigner.StreamingSignV4(r, testAK, testSecret, "", "us-east-1", int64(len(data)), time.Now().UTC(), sha256Hasher{sha256.New()})
		}, streamingSigned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, srv := startServer(t, false)
			r, err := http.NewRequest("PUT", srv.URL+"/bucket/obj%20name", bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			trailer := http.Header{}
			trailer.Set("x-amz-checksum-crc32c", crc)
			r = tc.sign(r, trailer)
			resp, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			s := rec.last(t)
			if resp.StatusCode != 200 || s.err != nil || s.payloadHash != tc.wantHash {
				t.Fatalf("status %d, server hash %q err %v", resp.StatusCode, s.payloadHash, s.err)
			}
			if !bytes.Equal(s.body, data) {
				t.Fatalf("decoded %d bytes, sent %d", len(s.body), len(data))
			}
			if tc.wantHash != streamingSigned {
				if v := s.trailer["x-amz-checksum-crc32c"]; len(v) != 1 || v[0] != crc {
					t.Fatalf("trailer %v, want %s", s.trailer, crc)
				}
			}
		})
	}
}
