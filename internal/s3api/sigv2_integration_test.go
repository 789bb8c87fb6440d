package s3api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// minioV2 returns a minio-go client that signs with AWS Signature V2.
func minioV2(t *testing.T, node *apptest.Node, ak, sk string) *minio.Client {
	t.Helper()
	c, err := minio.New(node.Addr(), &minio.Options{
		Creds: miniocreds.NewStaticV2(ak, sk, ""), Transport: node.HTTPClient().Transport,
		Region: node.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// minioCode returns the S3 error code minio-go reports for err.
func minioCode(err error) string { return minio.ToErrorResponse(err).Code }

// TestSigV2MinioGo drives the store with minio-go signing SigV2 headers
// and presigning SigV2 URLs.
func TestSigV2MinioGo(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := minioV2(t, node, node.AccessKey, node.SecretKey)
	if err := c.MakeBucket(ctx, "v2bucket", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := "signed the old way"
	meta := map[string]string{"who": "v2"}
	if _, err := c.PutObject(ctx, "v2bucket", "dir/a key+1", strings.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserMetadata: meta, ContentType: "text/plain"}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	obj, err := c.GetObject(ctx, "v2bucket", "dir/a key+1", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || string(got) != body {
		t.Fatalf("GetObject = %q, %v", got, err)
	}
	st, err := c.StatObject(ctx, "v2bucket", "dir/a key+1", minio.StatObjectOptions{})
	if err != nil || st.UserMetadata["Who"] != "v2" || st.ContentType != "text/plain" {
		t.Fatalf("StatObject = %+v, %v", st, err)
	}
	var keys []string
	for o := range c.ListObjects(ctx, "v2bucket", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	if len(keys) != 1 || keys[0] != "dir/a key+1" {
		t.Fatalf("ListObjects = %q", keys)
	}

	hc := node.HTTPClient()
	t.Run("presigned GET", func(t *testing.T) {
		u, err := c.PresignedGetObject(ctx, "v2bucket", "dir/a key+1", time.Minute, url.Values{"response-content-type": {"text/x-v2"}})
		if err != nil {
			t.Fatal(err)
		}
		if !u.Query().Has("AWSAccessKeyId") || !u.Query().Has("Signature") {
			t.Fatalf("not a SigV2 URL: %s", u)
		}
		resp, err := hc.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != body || resp.Header.Get("Content-Type") != "text/x-v2" {
			t.Fatalf("presigned GET: %d %q %q", resp.StatusCode, b, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("presigned PUT", func(t *testing.T) {
		u, err := c.PresignedPutObject(ctx, "v2bucket", "uploaded", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPut, u.String(), strings.NewReader("via url"))
		if st, code := s3Error(t, hc, req); st != 200 {
			t.Fatalf("presigned PUT: %d %s", st, code)
		}
		if _, err := c.StatObject(ctx, "v2bucket", "uploaded", minio.StatObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("presigned expired", func(t *testing.T) {
		u, err := c.PresignedGetObject(ctx, "v2bucket", "dir/a key+1", time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("Expires", "1000000000") // 2001: long past (the signature no longer matters)
		u.RawQuery = q.Encode()
		req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !bytes.Contains(b, []byte("<Code>AccessDenied</Code>")) || !bytes.Contains(b, []byte("Request has expired")) {
			t.Fatalf("expired URL: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("presigned tampered", func(t *testing.T) {
		u, err := c.PresignedGetObject(ctx, "v2bucket", "dir/a key+1", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/v2bucket/uploaded"
		req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
		if st, code := s3Error(t, hc, req); st != 403 || code != "SignatureDoesNotMatch" {
			t.Fatalf("tampered URL: %d %s", st, code)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		_, err := minioV2(t, node, node.AccessKey, "wrong").ListBuckets(ctx)
		if code := minioCode(err); code != "SignatureDoesNotMatch" {
			t.Fatalf("wrong secret: %v (%s)", err, code)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		_, err := minioV2(t, node, "AKNOBODY", "x").ListBuckets(ctx)
		if code := minioCode(err); code != "InvalidAccessKeyId" {
			t.Fatalf("unknown key: %v (%s)", err, code)
		}
	})
	t.Run("skewed date", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, node.Endpoint()+"/v2bucket/uploaded", nil)
		req.Header.Set("Date", time.Now().Add(-20*time.Minute).UTC().Format(http.TimeFormat))
		req.Header.Set("Authorization", "AWS "+node.AccessKey+":AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
		if st, code := s3Error(t, hc, req); st != 403 || code != "RequestTimeTooSkewed" {
			t.Fatalf("skewed: %d %s", st, code)
		}
	})
	t.Run("other account's bucket", func(t *testing.T) {
		ak, sk := addAccount(t, node, "v2other")
		err := minioV2(t, node, ak, sk).RemoveObject(ctx, "v2bucket", "uploaded", minio.RemoveObjectOptions{})
		if code := minioCode(err); code != "AccessDenied" {
			t.Fatalf("other account: %v (%s)", err, code)
		}
	})
}

// sigv4NoHash signs req with SigV4 over the SHA-256 of signedBody but
// sends no x-amz-content-sha256, as curl --aws-sigv4 does.
func sigv4NoHash(t *testing.T, node *apptest.Node, req *http.Request, signedBody []byte) {
	t.Helper()
	sum := sha256.Sum256(signedBody)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: node.AccessKey, SecretAccessKey: node.SecretKey},
		req, hex.EncodeToString(sum[:]), "s3", node.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestSigV4WithoutContentSHA256 checks requests that sign the body's hash
// without sending it: the body is held to the signature, and nothing is
// stored when it differs.
func TestSigV4WithoutContentSHA256(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	sdk := node.S3("", "")
	if _, err := sdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("nohash")}); err != nil {
		t.Fatal(err)
	}
	hc := node.HTTPClient()
	small := []byte("hello without a header")
	large := randBytes(t, 3<<20)
	altered := func(b []byte) []byte { c := bytes.Clone(b); c[len(c)-1] ^= 1; return c }
	put := func(key string, signed, sent []byte, chunked bool) (int, string) {
		var body io.Reader = bytes.NewReader(sent)
		if chunked {
			body = io.MultiReader(body) // unknown length: Transfer-Encoding: chunked
		}
		req, _ := http.NewRequest(http.MethodPut, node.Endpoint()+"/nohash/"+key, body)
		sigv4NoHash(t, node, req, signed)
		return s3Error(t, hc, req)
	}
	for _, tc := range []struct {
		name         string
		signed, sent []byte
		chunked      bool
		wantStatus   int
		wantCode     string
	}{
		{"small", small, small, false, 200, ""},
		{"small altered", small, altered(small), false, 403, "SignatureDoesNotMatch"},
		{"large", large, large, false, 200, ""},
		{"large altered", large, altered(large), false, 403, "SignatureDoesNotMatch"},
		{"chunked", large, large, true, 200, ""},
		{"chunked altered", large, altered(large), true, 403, "SignatureDoesNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := strings.ReplaceAll(tc.name, " ", "-")
			st, code := put(key, tc.signed, tc.sent, tc.chunked)
			if st != tc.wantStatus || code != tc.wantCode {
				t.Fatalf("PUT: %d %s, want %d %s", st, code, tc.wantStatus, tc.wantCode)
			}
			out, err := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nohash"), Key: aws.String(key)})
			if tc.wantCode != "" {
				wantCode(t, err, "NoSuchKey") // nothing stored
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if !bytes.Equal(got, tc.sent) {
				t.Fatal("stored body differs")
			}
		})
	}
	t.Run("UploadPart", func(t *testing.T) {
		up, err := sdk.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("nohash"), Key: aws.String("mp")})
		if err != nil {
			t.Fatal(err)
		}
		partURL := func(n int) string {
			return fmt.Sprintf("%s/nohash/mp?partNumber=%d&uploadId=%s", node.Endpoint(), n, url.QueryEscape(aws.ToString(up.UploadId)))
		}
		req, _ := http.NewRequest(http.MethodPut, partURL(1), io.MultiReader(bytes.NewReader(altered(large))))
		sigv4NoHash(t, node, req, large)
		if st, code := s3Error(t, hc, req); st != 403 || code != "SignatureDoesNotMatch" {
			t.Fatalf("altered part: %d %s", st, code)
		}
		parts, err := sdk.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("nohash"), Key: aws.String("mp"), UploadId: up.UploadId})
		if err != nil || len(parts.Parts) != 0 {
			t.Fatalf("parts after a refused upload: %+v %v", parts, err)
		}
		req, _ = http.NewRequest(http.MethodPut, partURL(1), io.MultiReader(bytes.NewReader(large)))
		sigv4NoHash(t, node, req, large)
		if st, code := s3Error(t, hc, req); st != 200 {
			t.Fatalf("part: %d %s", st, code)
		}
	})
	t.Run("GET", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, node.Endpoint()+"/nohash/small", nil)
		sigv4NoHash(t, node, req, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(b, small) {
			t.Fatalf("GET: %d %q", resp.StatusCode, b)
		}
	})
	t.Run("large body on an operation that acts before reading it", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, node.Endpoint()+"/nohash?delete", bytes.NewReader(large))
		sigv4NoHash(t, node, req, large)
		if st, code := s3Error(t, hc, req); st != 400 || code != "InvalidRequest" {
			t.Fatalf("DeleteObjects: %d %s", st, code)
		}
	})
	t.Run("forged request to another bucket learns nothing", func(t *testing.T) {
		// Signed for one body, sent with another, to a bucket that does
		// not exist: the signature's failure is what the caller sees.
		req, _ := http.NewRequest(http.MethodPut, node.Endpoint()+"/no-such-bucket-here/k", bytes.NewReader(altered(large)))
		sigv4NoHash(t, node, req, large)
		if st, code := s3Error(t, hc, req); st != 403 || code != "SignatureDoesNotMatch" {
			t.Fatalf("forged PUT: %d %s", st, code)
		}
	})
}

// addAccount creates an account through the native API and returns its keys.
func addAccount(t *testing.T, node *apptest.Node, name string) (ak, sk string) {
	t.Helper()
	admin, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: node.AccessKey, SecretKey: node.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateUser(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return k.AccessKey, k.SecretKey
}

// TestSigV2VirtualHost signs SigV2 in virtual-host style (BUCKET.localhost),
// where the canonical resource takes the bucket from Host.
func TestSigV2VirtualHost(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	_, port, _ := net.SplitHostPort(node.Addr())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, node.Addr()) // every *.localhost is this node
	}
	if _, err := node.S3("", "").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("v2vhost")}); err != nil {
		t.Fatal(err)
	}
	c, err := minio.New("localhost:"+port, &minio.Options{
		Creds: miniocreds.NewStaticV2(node.AccessKey, node.SecretKey, ""), Transport: tr,
		Region: node.Region, BucketLookup: minio.BucketLookupDNS,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "v2vhost", "k 1", strings.NewReader("vh"), 2, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject (virtual host, SigV2): %v", err)
	}
	u, err := c.PresignedGetObject(ctx, "v2vhost", "k 1", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.Host, "v2vhost.localhost") {
		t.Fatalf("not virtual-host style: %s", u)
	}
	resp, err := (&http.Client{Transport: tr}).Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "vh" {
		t.Fatalf("presigned GET (virtual host): %d %s", resp.StatusCode, b)
	}
}
