package s3api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// clientModes are the aws-sdk-go-v2 configurations every test runs under:
// its default checksum behaviour (CRC32 on every upload, validated on
// download) and the opt-out "when_required".
var clientModes = []struct {
	name string
	opt  func(*s3.Options)
}{
	{"default", func(*s3.Options) {}},
	{"when_required", func(o *s3.Options) {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}},
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// apiCode returns the S3 error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := apiCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// TestS3SDK runs the object-store operations through aws-sdk-go-v2 over
// HTTP and TLS, in each checksum mode.
func TestS3SDK(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		node := apptest.Start(t, apptest.Options{TLS: useTLS})
		for _, mode := range clientModes {
			name := fmt.Sprintf("tls=%v/%s", useTLS, mode.name)
			t.Run(name, func(t *testing.T) {
				c := node.S3("", "", mode.opt)
				bucket := strings.ReplaceAll(fmt.Sprintf("b-%v-%s", useTLS, mode.name), "_", "-")
				runObjectSuite(t, c, bucket)
			})
		}
	}
}

func runObjectSuite(t *testing.T, c *s3.Client, bucket string) {
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
	wantCode(t, err, "BucketAlreadyOwnedByYou")
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	wantCode(t, err, "InvalidBucketName")
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: &bucket})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("GetBucketLocation: %v %v", loc, err)
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || !containsBucket(lb.Buckets, bucket) {
		t.Fatalf("ListBuckets: %v", err)
	}

	t.Run("put-get", func(t *testing.T) {
		body := randBytes(t, 300<<10)
		key := `dir/&+-é"/x y`
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body),
			ContentType: aws.String("text/x-test"), Metadata: map[string]string{"color": "blue"},
			CacheControl: aws.String("max-age=60"), ContentDisposition: aws.String("inline"), ContentLanguage: aws.String("en")})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		if got := strings.Trim(aws.ToString(put.ETag), `"`); got != md5hex(body) {
			t.Fatalf("ETag %s, want md5 %s", got, md5hex(body))
		}
		get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		got, err := io.ReadAll(get.Body)
		get.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("GetObject body differs (%d bytes, err %v)", len(got), err)
		}
		if aws.ToString(get.ContentType) != "text/x-test" || get.Metadata["color"] != "blue" ||
			aws.ToString(get.CacheControl) != "max-age=60" || aws.ToString(get.ContentDisposition) != "inline" ||
			aws.ToString(get.ContentLanguage) != "en" {
			t.Fatalf("metadata not returned: %+v", get)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
		if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) {
			t.Fatalf("HeadObject: %v %v", head, err)
		}
		// Range.
		rg, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, Range: aws.String("bytes=100-199")})
		if err != nil {
			t.Fatal(err)
		}
		part, _ := io.ReadAll(rg.Body)
		rg.Body.Close()
		if !bytes.Equal(part, body[100:200]) || aws.ToString(rg.ContentRange) != fmt.Sprintf("bytes 100-199/%d", len(body)) {
			t.Fatalf("range: %d bytes, Content-Range %q", len(part), aws.ToString(rg.ContentRange))
		}
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, Range: aws.String(fmt.Sprintf("bytes=%d-", len(body)+10))})
		wantCode(t, err, "InvalidRange")
		// Conditionals.
		etag := put.ETag
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, IfMatch: aws.String(`"nope"`)})
		wantCode(t, err, "PreconditionFailed")
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, IfNoneMatch: etag})
		wantCode(t, err, "NotModified")
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, IfModifiedSince: aws.Time(time.Now().Add(time.Hour))})
		wantCode(t, err, "NotModified")
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, IfUnmodifiedSince: aws.Time(time.Now().Add(-time.Hour))})
		wantCode(t, err, "PreconditionFailed")
		ok, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, IfMatch: etag,
			ResponseContentType: aws.String("application/x-override"), ResponseContentDisposition: aws.String("attachment")})
		if err != nil {
			t.Fatal(err)
		}
		ok.Body.Close()
		if aws.ToString(ok.ContentType) != "application/x-override" || aws.ToString(ok.ContentDisposition) != "attachment" {
			t.Fatalf("response overrides ignored: %q %q", aws.ToString(ok.ContentType), aws.ToString(ok.ContentDisposition))
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil {
			t.Fatal(err)
		}
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		wantCode(t, err, "NoSuchKey")
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
		wantCode(t, err, "NotFound") // HEAD errors carry no body; the SDK reports the status
	})

	t.Run("checksums", func(t *testing.T) {
		body := []byte("hello checksums")
		for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
			types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
			key := "ck-" + string(alg)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), ChecksumAlgorithm: alg}); err != nil {
				t.Fatalf("PutObject %s: %v", alg, err)
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(out.Body) // the SDK validates the returned checksum while reading
			out.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s: %v", alg, err)
			}
			if out.ChecksumCRC32 == nil && out.ChecksumCRC32C == nil && out.ChecksumCRC64NVME == nil && out.ChecksumSHA1 == nil && out.ChecksumSHA256 == nil {
				t.Fatalf("%s: no checksum returned with ChecksumMode ENABLED", alg)
			}
		}
		// A wrong checksum is refused and nothing is stored.
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("bad-ck"), Body: bytes.NewReader(body),
			ChecksumCRC32: aws.String("AAAAAA==")})
		wantCode(t, err, "BadDigest")
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("bad-ck")})
		wantCode(t, err, "NotFound")
		// A wrong Content-MD5 too.
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("bad-md5"), Body: bytes.NewReader(body),
			ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")})
		wantCode(t, err, "BadDigest")
	})

	t.Run("copy", func(t *testing.T) {
		body := randBytes(t, 70000)
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("src"), Body: bytes.NewReader(body),
			ContentType: aws.String("a/b"), Metadata: map[string]string{"m": "1"}}); err != nil {
			t.Fatal(err)
		}
		cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("dst-copy"), CopySource: aws.String(bucket + "/src")})
		if err != nil {
			t.Fatalf("CopyObject: %v", err)
		}
		if strings.Trim(aws.ToString(cp.CopyObjectResult.ETag), `"`) != md5hex(body) {
			t.Fatalf("copy ETag %s", aws.ToString(cp.CopyObjectResult.ETag))
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("dst-copy")})
		if err != nil || aws.ToString(h.ContentType) != "a/b" || h.Metadata["m"] != "1" {
			t.Fatalf("COPY directive lost metadata: %v %v", h, err)
		}
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("dst-rep"), CopySource: aws.String(bucket + "/src"),
			MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("c/d"), Metadata: map[string]string{"n": "2"}})
		if err != nil {
			t.Fatal(err)
		}
		h, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("dst-rep")})
		if err != nil || aws.ToString(h.ContentType) != "c/d" || h.Metadata["n"] != "2" || h.Metadata["m"] != "" {
			t.Fatalf("REPLACE directive: %v %v", h, err)
		}
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("dst-x"), CopySource: aws.String(bucket + "/src"),
			CopySourceIfMatch: aws.String(`"nope"`)})
		wantCode(t, err, "PreconditionFailed")
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("src"), CopySource: aws.String(bucket + "/src")})
		wantCode(t, err, "InvalidRequest")
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("dst-y"), CopySource: aws.String(bucket + "/missing")})
		wantCode(t, err, "NoSuchKey")
	})

	t.Run("list", func(t *testing.T) {
		lb := bucket + "-list"
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &lb}); err != nil {
			t.Fatal(err)
		}
		keys := []string{"a/1", "a/2", "a/b/3", "b/1", "c", "d e+f", "é/1"}
		for _, k := range keys {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &lb, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
				t.Fatal(err)
			}
		}
		// V2 paginated, two at a time, must return all keys in order.
		var got []string
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &lb, MaxKeys: aws.Int32(2)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Contents) > 2 {
				t.Fatalf("page of %d", len(page.Contents))
			}
			for _, o := range page.Contents {
				got = append(got, aws.ToString(o.Key))
			}
		}
		if strings.Join(got, "|") != strings.Join(keys, "|") {
			t.Fatalf("V2 listing %q, want %q", got, keys)
		}
		// Delimiter with prefix.
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &lb, Delimiter: aws.String("/"), Prefix: aws.String("a/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) != 2 || len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "a/b/" {
			t.Fatalf("delimiter listing: %d objects, prefixes %v", len(out.Contents), out.CommonPrefixes)
		}
		// start-after, fetch-owner and url encoding.
		out, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &lb, StartAfter: aws.String("c"), FetchOwner: aws.Bool(true),
			EncodingType: types.EncodingTypeUrl})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) != 2 || out.Contents[0].Owner == nil || aws.ToString(out.Contents[0].Key) != "d%20e%2Bf" {
			t.Fatalf("start-after/url listing: %+v", out.Contents)
		}
		// V1 with marker.
		v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: &lb, Marker: aws.String("b/1"), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(v1.Contents) != 2 || len(v1.CommonPrefixes) != 1 {
			t.Fatalf("V1 after marker: %d objects %d prefixes", len(v1.Contents), len(v1.CommonPrefixes))
		}
		// Versions listing on an unversioned bucket, then the S3 test-suite
		// clean-up: DeleteObjects with VersionId "null".
		vers, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &lb})
		if err != nil || len(vers.Versions) != len(keys) {
			t.Fatalf("ListObjectVersions: %v %v", vers, err)
		}
		var ids []types.ObjectIdentifier
		for _, v := range vers.Versions {
			if aws.ToString(v.VersionId) != "null" || !aws.ToBool(v.IsLatest) {
				t.Fatalf("version %+v", v)
			}
			ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &lb})
		wantCode(t, err, "BucketNotEmpty")
		del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &lb, Delete: &types.Delete{Objects: ids[:3]}})
		if err != nil || len(del.Deleted) != 3 || len(del.Errors) != 0 {
			t.Fatalf("DeleteObjects: %v %v", del, err)
		}
		del, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &lb, Delete: &types.Delete{Objects: ids[3:], Quiet: aws.Bool(true)}})
		if err != nil || len(del.Deleted) != 0 || len(del.Errors) != 0 {
			t.Fatalf("quiet DeleteObjects: %v %v", del, err)
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &lb, Key: aws.String("gone"), VersionId: aws.String("null")}); err != nil {
			t.Fatalf("DeleteObject versionId=null: %v", err)
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &lb}); err != nil {
			t.Fatalf("DeleteBucket: %v", err)
		}
		_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &lb})
		wantCode(t, err, "NotFound")
	})

	t.Run("multipart", func(t *testing.T) {
		body := randBytes(t, 17<<20+12345) // over 16 MiB, four parts
		up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = 5 << 20; u.Concurrency = 3 })
		res, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("big"), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatalf("multipart upload: %v", err)
		}
		if !strings.HasSuffix(strings.Trim(aws.ToString(res.ETag), `"`), "-4") {
			t.Fatalf("multipart ETag %s", aws.ToString(res.ETag))
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("big")})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, body) {
			t.Fatalf("multipart object differs: %d bytes", len(got))
		}
		pn, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("big"), PartNumber: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		p2, _ := io.ReadAll(pn.Body)
		pn.Body.Close()
		if !bytes.Equal(p2, body[5<<20:10<<20]) || aws.ToInt32(pn.PartsCount) != 4 {
			t.Fatalf("partNumber=2: %d bytes, parts count %d", len(p2), aws.ToInt32(pn.PartsCount))
		}
		// The manual path: create, list, copy a part, complete with errors first.
		mk, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("manual")})
		if err != nil {
			t.Fatal(err)
		}
		small := []byte("tiny first part")
		p1, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: aws.String("manual"), UploadId: mk.UploadId,
			PartNumber: aws.Int32(1), Body: bytes.NewReader(small)})
		if err != nil {
			t.Fatal(err)
		}
		cpp, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &bucket, Key: aws.String("manual"), UploadId: mk.UploadId,
			PartNumber: aws.Int32(2), CopySource: aws.String(bucket + "/big"), CopySourceRange: aws.String("bytes=0-99")})
		if err != nil {
			t.Fatalf("UploadPartCopy: %v", err)
		}
		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: &bucket, Key: aws.String("manual"), UploadId: mk.UploadId})
		if err != nil || len(lp.Parts) != 2 {
			t.Fatalf("ListParts: %v %v", lp, err)
		}
		lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
		if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(mk.UploadId) {
			t.Fatalf("ListMultipartUploads: %v %v", lu, err)
		}
		parts := []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: p1.ETag}, {PartNumber: aws.Int32(2), ETag: cpp.CopyPartResult.ETag}}
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("manual"), UploadId: mk.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		wantCode(t, err, "EntityTooSmall")
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("manual"), UploadId: mk.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"0000"`)}}}})
		wantCode(t, err, "InvalidPart")
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("manual"), UploadId: mk.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{parts[1], parts[0]}}})
		wantCode(t, err, "InvalidPartOrder")
		if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: aws.String("manual"), UploadId: mk.UploadId}); err != nil {
			t.Fatal(err)
		}
		_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: &bucket, Key: aws.String("manual"), UploadId: mk.UploadId})
		wantCode(t, err, "NoSuchUpload")
	})
}

func containsBucket(bs []types.Bucket, name string) bool {
	for _, b := range bs {
		if aws.ToString(b.Name) == name {
			return true
		}
	}
	return false
}

// TestConcurrentPutsOneKey: many writers race on one key; exactly one
// complete body wins and reads back whole.
func TestConcurrentPutsOneKey(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("race")}); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 12 {
		b := bytes.Repeat([]byte{byte('a' + i)}, 200<<10+i)
		mu.Lock()
		bodies[md5hex(b)] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("race"), Key: aws.String("k"), Body: bytes.NewReader(b)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("race"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bodies[md5hex(got)] || strings.Trim(aws.ToString(out.ETag), `"`) != md5hex(got) {
		t.Fatalf("winner is not one complete body (len %d)", len(got))
	}
	l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("race")})
	if err != nil || len(l.Contents) != 1 {
		t.Fatalf("listing after race: %v %v", l, err)
	}
}

// TestPresign covers presigned GET and PUT, and an expired URL.
func TestPresign(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pre")}); err != nil {
		t.Fatal(err)
	}
	ps := s3.NewPresignClient(c)
	body := randBytes(t, 4096)
	put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("p k")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, put.URL, bytes.NewReader(body))
	for k, v := range put.SignedHeader {
		req.Header[k] = v
	}
	resp, err := node.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %s", resp.Status)
	}
	get, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("p k")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = node.HTTPClient().Get(get.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("presigned GET: %s, %d bytes", resp.Status, len(got))
	}
	// Expired: sign one second of validity in the past.
	expired, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("p k")},
		s3.WithPresignExpires(time.Second), func(o *s3.PresignOptions) {
			o.ClientOptions = append(o.ClientOptions, func(so *s3.Options) {})
		})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	resp, err = node.HTTPClient().Get(expired.URL)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(msg), "<Code>AccessDenied</Code>") {
		t.Fatalf("expired presign: %s %s", resp.Status, msg)
	}
	// Tampered: change the key in a valid URL.
	resp, err = node.HTTPClient().Get(strings.Replace(get.URL, "p%20k", "p%20j", 1))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(msg), "SignatureDoesNotMatch") {
		t.Fatalf("tampered presign: %s %s", resp.Status, msg)
	}
}
