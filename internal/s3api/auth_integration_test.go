package s3api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/client"
)

// s3Error fetches a raw response and returns its status and S3 error code.
func s3Error(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	code := ""
	if i, j := bytes.Index(b, []byte("<Code>")), bytes.Index(b, []byte("</Code>")); i >= 0 && j > i {
		code = string(b[i+6 : j])
	}
	return resp.StatusCode, code
}

func signedRequest(t *testing.T, node *apptest.Node, method, path string, body []byte, ak, sk string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, node.Endpoint()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	ph := hex.EncodeToString(sum[:])
	req.Header.Set("x-amz-content-sha256", ph)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req, ph, "s3", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestAuthRejections(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	root := node.S3("", "")
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mine")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mine"), Key: aws.String("k"), Body: strings.NewReader("secret")}); err != nil {
		t.Fatal(err)
	}
	hc := node.HTTPClient()

	t.Run("wrong secret", func(t *testing.T) {
		_, err := node.S3(node.AccessKey, "wrong-secret").ListBuckets(ctx, &s3.ListBucketsInput{})
		wantCode(t, err, "SignatureDoesNotMatch")
	})
	t.Run("unknown key", func(t *testing.T) {
		_, err := node.S3("AKNOBODY", "x").ListBuckets(ctx, &s3.ListBucketsInput{})
		wantCode(t, err, "InvalidAccessKeyId")
	})
	t.Run("anonymous", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, node.Endpoint()+"/mine/k", nil)
		if st, code := s3Error(t, hc, req); st != 403 || code != "AccessDenied" {
			t.Fatalf("anonymous GET: %d %s", st, code)
		}
	})
	t.Run("skewed clock", func(t *testing.T) {
		req := signedRequest(t, node, http.MethodGet, "/mine/k", nil, node.AccessKey, node.SecretKey, time.Now().Add(-20*time.Minute))
		if st, code := s3Error(t, hc, req); st != 403 || code != "RequestTimeTooSkewed" {
			t.Fatalf("skewed: %d %s", st, code)
		}
		// Within the 15 minute window it is accepted.
		req = signedRequest(t, node, http.MethodGet, "/mine/k", nil, node.AccessKey, node.SecretKey, time.Now().Add(-10*time.Minute))
		if st, code := s3Error(t, hc, req); st != 200 {
			t.Fatalf("10 min skew refused: %d %s", st, code)
		}
	})
	t.Run("payload hash mismatch", func(t *testing.T) {
		req := signedRequest(t, node, http.MethodPut, "/mine/tampered", []byte("original"), node.AccessKey, node.SecretKey, time.Now())
		req.Body = io.NopCloser(strings.NewReader("replaced"))
		if st, code := s3Error(t, hc, req); st != 400 || code != "XAmzContentSHA256Mismatch" {
			t.Fatalf("tampered body: %d %s", st, code)
		}
		_, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mine"), Key: aws.String("tampered")})
		wantCode(t, err, "NotFound")
	})

	t.Run("cross account", func(t *testing.T) {
		admin, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: node.AccessKey, SecretKey: node.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		k, err := admin.CreateUser(ctx, "mallory")
		if err != nil {
			t.Fatal(err)
		}
		m := node.S3(k.AccessKey, k.SecretKey)
		lb, err := m.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil || len(lb.Buckets) != 0 {
			t.Fatalf("mallory sees buckets: %v %v", lb, err)
		}
		_, err = m.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mine"), Key: aws.String("k")})
		wantCode(t, err, "AccessDenied")
		_, err = m.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mine"), Key: aws.String("x"), Body: strings.NewReader("x")})
		wantCode(t, err, "AccessDenied")
		_, err = m.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("mine")})
		wantCode(t, err, "AccessDenied")
		_, err = m.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("mine")})
		wantCode(t, err, "AccessDenied")
		_, err = m.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mine")})
		wantCode(t, err, "BucketAlreadyExists")
		if _, err := m.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("malloryb")}); err != nil {
			t.Fatal(err)
		}
		// Copying out of someone else's bucket is refused too.
		_, err = m.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("malloryb"), Key: aws.String("stolen"), CopySource: aws.String("mine/k")})
		wantCode(t, err, "AccessDenied")
		// Non-root callers cannot use the admin API.
		mc, _ := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: k.AccessKey, SecretKey: k.SecretKey})
		if _, err := mc.CreateUser(ctx, "eve"); !client.IsCode(err, "AccessDenied") {
			t.Fatalf("non-root admin call: %v", err)
		}
		// After key rotation the old key is refused.
		nk, err := admin.RotateKey(ctx, "mallory")
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.ListBuckets(ctx, &s3.ListBucketsInput{})
		wantCode(t, err, "InvalidAccessKeyId")
		if _, err := node.S3(nk.AccessKey, nk.SecretKey).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("malloryb")}); err != nil {
			t.Fatalf("rotated key: %v", err)
		}
	})
}

// tamperTransport flips one byte of the first request body that is larger
// than 1 KiB, after the client has signed it.
type tamperTransport struct {
	next http.RoundTripper
	done atomic.Bool
}

func (tt *tamperTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.ContentLength > 1024 && !tt.done.Swap(true) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		b[len(b)/2] ^= 0xff
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return tt.next.RoundTrip(r)
}

// TestMinioGo drives the store with minio-go: over HTTP it signs every
// chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), over TLS it sends
// UNSIGNED-PAYLOAD, and with trailing headers the ...-TRAILER forms.
func TestMinioGo(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name          string
		tls, trailing bool
	}{{"http", false, false}, {"http-trailer", false, true}, {"tls", true, false}, {"tls-trailer", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			node := apptest.Start(t, apptest.Options{TLS: tc.tls})
			mc := node.Minio(t, "", "", tc.trailing)
			if err := mc.MakeBucket(ctx, "mcb", minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			for i, size := range []int{0, 1, 70 << 10, 6 << 20} {
				body := randBytes(t, size)
				key := "obj/" + strings.Repeat("x", i) + "é +"
				if _, err := mc.PutObject(ctx, "mcb", key, bytes.NewReader(body), int64(size), minio.PutObjectOptions{
					ContentType: "application/x-test", UserMetadata: map[string]string{"k": "v"}, DisableMultipart: true}); err != nil {
					t.Fatalf("PutObject %d: %v", size, err)
				}
				o, err := mc.GetObject(ctx, "mcb", key, minio.GetObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(o)
				o.Close()
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("size %d: got %d bytes, %v", size, len(got), err)
				}
			}
			// Multipart through minio-go (16 MiB parts by default: 17 MiB gives two).
			big := randBytes(t, 17<<20)
			if _, err := mc.PutObject(ctx, "mcb", "big", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
				t.Fatalf("multipart: %v", err)
			}
			o, err := mc.GetObject(ctx, "mcb", "big", minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(o)
			o.Close()
			if !bytes.Equal(got, big) {
				t.Fatal("multipart object differs")
			}
			n := 0
			for obj := range mc.ListObjects(ctx, "mcb", minio.ListObjectsOptions{Recursive: true}) {
				if obj.Err != nil {
					t.Fatal(obj.Err)
				}
				n++
			}
			if n != 5 {
				t.Fatalf("listed %d objects, want 5", n)
			}
			if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "mcb", Object: "copy"}, minio.CopySrcOptions{Bucket: "mcb", Object: "big"}); err != nil {
				t.Fatalf("CopyObject: %v", err)
			}
			if err := mc.RemoveObject(ctx, "mcb", "copy", minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTamperedChunk changes one byte of a minio-go streaming-signed upload
// in flight: the chunk signature check must refuse it and store nothing.
func TestTamperedChunk(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	mc := node.Minio(t, "", "", false)
	if err := mc.MakeBucket(ctx, "tcb", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	tampering, err := minio.New(node.Addr(), &minio.Options{
		Creds:     node.MinioCreds(),
		Transport: &tamperTransport{next: node.HTTPClient().Transport},
		Region:    "us-east-1", BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	body := randBytes(t, 200<<10)
	_, err = tampering.PutObject(ctx, "tcb", "k", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{DisableMultipart: true})
	if resp := minio.ToErrorResponse(err); resp.Code != "SignatureDoesNotMatch" {
		t.Fatalf("tampered chunk: %v (code %q)", err, resp.Code)
	}
	if _, err := mc.StatObject(ctx, "tcb", "k", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("tampered object exists: %v", err)
	}
}

// TestUnsupportedChecksum: algorithms insitu does not implement get a clean
// 400 InvalidRequest and nothing is stored.
func TestUnsupportedChecksum(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cks")}); err != nil {
		t.Fatal(err)
	}
	for _, hdr := range [][2]string{
		{"x-amz-checksum-sha512", "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="},
		{"x-amz-sdk-checksum-algorithm", "XXHASH64"},
		{"x-amz-checksum-algorithm", "MD5"},
	} {
		req := func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, node.Endpoint()+"/cks/k", strings.NewReader("hello"))
			r.Header.Set(hdr[0], hdr[1])
			sum := sha256.Sum256([]byte("hello"))
			ph := hex.EncodeToString(sum[:])
			r.Header.Set("x-amz-content-sha256", ph)
			signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
			if err := signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: node.AccessKey, SecretAccessKey: node.SecretKey}, r, ph, "s3", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			return r
		}()
		if st, code := s3Error(t, node.HTTPClient(), req); st != 400 || code != "InvalidRequest" {
			t.Errorf("%s: %d %s, want 400 InvalidRequest", hdr[0], st, code)
		}
	}
	_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cks"), Key: aws.String("k")})
	wantCode(t, err, "NotFound")
}

// TestTrailerChecksum sends aws-chunked bodies with a CRC32 trailer, as
// SDKs do over TLS: a right trailer stores the object, a wrong one is
// BadDigest and stores nothing.
func TestTrailerChecksum(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trl")}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(t, 100000)
	good := crc32b64(data)
	for _, tc := range []struct {
		key, trailer, code string
	}{{"good", good, ""}, {"bad", "AAAAAA==", "BadDigest"}} {
		var body bytes.Buffer
		for off := 0; off < len(data); off += 65536 {
			end := min(off+65536, len(data))
			fmt.Fprintf(&body, "%x\r\n", end-off)
			body.Write(data[off:end])
			body.WriteString("\r\n")
		}
		fmt.Fprintf(&body, "0\r\nx-amz-checksum-crc32:%s\r\n\r\n", tc.trailer)
		req, _ := http.NewRequest(http.MethodPut, node.Endpoint()+"/trl/"+tc.key, bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		req.Header.Set("x-amz-trailer", "x-amz-checksum-crc32")
		req.Header.Set("x-amz-decoded-content-length", fmt.Sprint(len(data)))
		signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err := signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: node.AccessKey, SecretAccessKey: node.SecretKey}, req,
			"STREAMING-UNSIGNED-PAYLOAD-TRAILER", "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		st, code := s3Error(t, node.HTTPClient(), req)
		if code != tc.code {
			t.Fatalf("%s trailer: status %d code %q, want %q", tc.key, st, code, tc.code)
		}
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("trl"), Key: aws.String("good"), ChecksumMode: "ENABLED"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data) || aws.ToString(out.ChecksumCRC32) != good || aws.ToString(out.ContentEncoding) != "" {
		t.Fatalf("stored object: %d bytes, crc %q, content-encoding %q", len(got), aws.ToString(out.ChecksumCRC32), aws.ToString(out.ContentEncoding))
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("trl"), Key: aws.String("bad")})
	wantCode(t, err, "NotFound")
}

func crc32b64(b []byte) string {
	s, _ := checksum.Sum(checksum.CRC32, b)
	return s
}
