package s3api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// uploadParts runs a two-part multipart upload with aws-sdk-go-v2 and
// returns its id and the parts to complete it with.
func uploadParts(t *testing.T, c *s3.Client, bucket, key string) (string, []types.CompletedPart) {
	t.Helper()
	ctx := context.Background()
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, size := range []int{5 << 20, 1000} {
		n := int32(i + 1)
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: up.UploadId, PartNumber: &n,
			Body: bytes.NewReader(bytes.Repeat([]byte{byte('a' + i)}, size)), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: &n, ETag: p.ETag, ChecksumCRC32: p.ChecksumCRC32})
	}
	return aws.ToString(up.UploadId), parts
}

// TestS3CompatSDK checks, with aws-sdk-go-v2, the behaviours where insitu
// used to differ from S3 (issue 11) and GetObjectAttributes.
func TestS3CompatSDK(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := node.S3("", "")
	b := "compat"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	uploadID, parts := uploadParts(t, c, b, "mp")
	complete := func() (*s3.CompleteMultipartUploadOutput, error) {
		return c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("mp"), UploadId: &uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	}
	first, err := complete()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("complete retried", func(t *testing.T) {
		again, err := complete()
		if err != nil {
			t.Fatalf("second complete: %v", err)
		}
		if aws.ToString(again.ETag) != aws.ToString(first.ETag) || aws.ToString(again.ChecksumCRC32) != aws.ToString(first.ChecksumCRC32) {
			t.Fatalf("second complete %s/%s, first %s/%s", aws.ToString(again.ETag), aws.ToString(again.ChecksumCRC32),
				aws.ToString(first.ETag), aws.ToString(first.ChecksumCRC32))
		}
		other := []types.CompletedPart{parts[0]}
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("mp"), UploadId: &uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: other}})
		wantCode(t, err, "NoSuchUpload")
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("elsewhere"), UploadId: &uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		wantCode(t, err, "NoSuchUpload")
	})
	t.Run("partNumber beyond the parts", func(t *testing.T) {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("mp"), PartNumber: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		out.Body.Close()
		_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: aws.String("mp"), PartNumber: aws.Int32(3)})
		wantCode(t, err, "InvalidPartNumber")
		wantStatus(t, err, 400)
	})
	t.Run("UploadPartCopy invalid range", func(t *testing.T) {
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("copy")})
		if err != nil {
			t.Fatal(err)
		}
		for _, rng := range []string{"bytes=0-99999999", "bytes=10-5", "bytes=-5", "chars=0-1"} {
			_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("copy"), UploadId: up.UploadId,
				PartNumber: aws.Int32(1), CopySource: aws.String(b + "/mp"), CopySourceRange: aws.String(rng)})
			wantCode(t, err, "InvalidRange")
			wantStatus(t, err, 400)
		}
		if _, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("copy"), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), CopySource: aws.String(b + "/mp"), CopySourceRange: aws.String("bytes=0-9")}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("url encoding", func(t *testing.T) {
		for _, k := range []string{"sp ace/x", "sp ace/y", "plus+key", "top level"} {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
				t.Fatal(err)
			}
		}
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, Delimiter: aws.String("/"), EncodingType: types.EncodingTypeUrl})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range out.CommonPrefixes {
			got = append(got, aws.ToString(p.Prefix))
		}
		for _, o := range out.Contents {
			got = append(got, aws.ToString(o.Key))
		}
		// The SDK hands back what the server sent, still encoded.
		if want := "sp%20ace/|mp|plus%2Bkey|top%20level"; strings.Join(got, "|") != want {
			t.Fatalf("encoded listing %q, want %q", strings.Join(got, "|"), want)
		}
	})
	t.Run("empty continuation token", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, node.Endpoint()+"/"+b+"?list-type=2&continuation-token=&max-keys=1", nil)
		signRaw(t, node, req)
		resp, err := node.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<ContinuationToken></ContinuationToken>")) {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b, ContinuationToken: aws.String("")})
		if err != nil || out.ContinuationToken == nil || *out.ContinuationToken != "" {
			t.Fatalf("SDK: %+v %v", out, err)
		}
	})
	t.Run("plain chunked PUT", func(t *testing.T) {
		data := randBytes(t, 1<<20+123)
		req, _ := http.NewRequest(http.MethodPut, node.Endpoint()+"/"+b+"/chunked", io.MultiReader(bytes.NewReader(data)))
		req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
		signRawPayload(t, node, req, "UNSIGNED-PAYLOAD")
		if st, code := s3Error(t, node.HTTPClient(), req); st != 200 {
			t.Fatalf("chunked PUT: %d %s", st, code)
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: aws.String("chunked")})
		if err != nil || aws.ToInt64(h.ContentLength) != int64(len(data)) || aws.ToString(h.ETag) != `"`+md5hex(data)+`"` {
			t.Fatalf("HeadObject: %+v %v", h, err)
		}
	})
	t.Run("GetObjectAttributes", func(t *testing.T) {
		out, err := c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("mp"), MaxParts: aws.Int32(1),
			ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum,
				types.ObjectAttributesObjectParts, types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}})
		if err != nil {
			t.Fatal(err)
		}
		if `"`+aws.ToString(out.ETag)+`"` != aws.ToString(first.ETag) || aws.ToInt64(out.ObjectSize) != 5<<20+1000 ||
			out.StorageClass != types.StorageClassStandard || out.Checksum == nil ||
			aws.ToString(out.Checksum.ChecksumCRC32) != aws.ToString(first.ChecksumCRC32) {
			t.Fatalf("attributes %+v (checksum %+v)", out, out.Checksum)
		}
		op := out.ObjectParts
		if op == nil || aws.ToInt32(op.TotalPartsCount) != 2 || len(op.Parts) != 1 || !aws.ToBool(op.IsTruncated) ||
			aws.ToInt32(op.Parts[0].PartNumber) != 1 || aws.ToInt64(op.Parts[0].Size) != 5<<20 ||
			aws.ToString(op.Parts[0].ChecksumCRC32) != aws.ToString(parts[0].ChecksumCRC32) {
			t.Fatalf("object parts %+v", op)
		}
		out, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("mp"),
			PartNumberMarker: op.NextPartNumberMarker, ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectParts}})
		if err != nil || out.ObjectParts == nil || len(out.ObjectParts.Parts) != 1 || aws.ToInt32(out.ObjectParts.Parts[0].PartNumber) != 2 ||
			out.ETag != nil || out.ObjectSize != nil {
			t.Fatalf("second page %+v %v", out, err)
		}
		out, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("chunked"),
			ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectSize, types.ObjectAttributesObjectParts}})
		if err != nil || aws.ToInt64(out.ObjectSize) != 1<<20+123 || out.ObjectParts != nil {
			t.Fatalf("single-part object %+v %v", out, err)
		}
		_, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("missing"),
			ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag}})
		wantCode(t, err, "NoSuchKey")
		_, err = c.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &b, Key: aws.String("mp"),
			ObjectAttributes: []types.ObjectAttributes{"Colour"}})
		wantCode(t, err, "InvalidArgument")
		req, _ := http.NewRequest(http.MethodGet, node.Endpoint()+"/"+b+"/mp?attributes", nil)
		signRaw(t, node, req)
		if st, code := s3Error(t, node.HTTPClient(), req); st != 400 || code != "InvalidArgument" {
			t.Fatalf("no x-amz-object-attributes: %d %s", st, code)
		}
	})
}

// TestS3CompatMinio checks the same behaviours through minio-go.
func TestS3CompatMinio(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	mc := node.Minio(t, "", "", false)
	core := minio.Core{Client: mc}
	b := "compat-minio"
	if err := mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	uploadID, err := core.NewMultipartUpload(ctx, b, "mp", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var parts []minio.CompletePart
	for i, size := range []int{5 << 20, 10} {
		data := bytes.Repeat([]byte{'x'}, size)
		p, err := core.PutObjectPart(ctx, b, "mp", uploadID, i+1, bytes.NewReader(data), int64(size), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag})
	}
	first, err := core.CompleteMultipartUpload(ctx, b, "mp", uploadID, parts, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := core.CompleteMultipartUpload(ctx, b, "mp", uploadID, parts, minio.PutObjectOptions{})
	if err != nil || again.ETag != first.ETag {
		t.Fatalf("retried complete: %+v %v (first %s)", again, err, first.ETag)
	}
	opts := minio.GetObjectOptions{}
	opts.PartNumber = 3
	_, _, _, err = core.GetObject(ctx, b, "mp", opts)
	if code := minioCode(err); code != "InvalidPartNumber" || minio.ToErrorResponse(err).StatusCode != 400 {
		t.Fatalf("partNumber 3: %v (%s)", err, code)
	}
	// minio-go lists with encoding-type=url and decodes what it gets.
	for _, k := range []string{"a b/c", "a+b", "q?x"} {
		if _, err := mc.PutObject(ctx, b, k, strings.NewReader("1"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for o := range mc.ListObjects(ctx, b, minio.ListObjectsOptions{}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		got = append(got, o.Key)
	}
	sort.Strings(got)
	if want := "a b/|a+b|mp|q?x"; strings.Join(got, "|") != want {
		t.Fatalf("listing %q, want %q", strings.Join(got, "|"), want)
	}
	_, err = core.CopyObjectPart(ctx, b, "mp", b, "copy", uploadID, 1, 0, 1<<40, nil)
	if code := minioCode(err); code != "InvalidRange" && code != "NoSuchUpload" {
		t.Fatalf("copy part with a range past the end: %v (%s)", err, code)
	}
	up2, err := core.NewMultipartUpload(ctx, b, "copy", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = core.CopyObjectPart(ctx, b, "mp", b, "copy", up2, 1, 0, 1<<40, nil)
	if code := minioCode(err); code != "InvalidRange" {
		t.Fatalf("copy part with a range past the end: %v (%s)", err, code)
	}
	attrs, err := mc.GetObjectAttributes(ctx, b, "mp", minio.ObjectAttributesOptions{MaxParts: 10})
	if err != nil {
		t.Fatal(err)
	}
	if attrs.ETag != strings.Trim(first.ETag, `"`) || attrs.ObjectSize != 5<<20+10 || attrs.ObjectParts.PartsCount != 2 ||
		len(attrs.ObjectParts.Parts) != 2 || attrs.StorageClass != "STANDARD" {
		t.Fatalf("GetObjectAttributes: %+v", attrs)
	}
}

// wantStatus fails unless err is an HTTP response error with status code.
func wantStatus(t *testing.T, err error, code int) {
	t.Helper()
	var re interface{ HTTPStatusCode() int }
	if !errorsAs(err, &re) || re.HTTPStatusCode() != code {
		t.Fatalf("status of %v, want %d", err, code)
	}
}

// signRaw signs req with SigV4 over an empty payload.
func signRaw(t *testing.T, node *apptest.Node, req *http.Request) {
	sum := sha256.Sum256(nil)
	ph := hex.EncodeToString(sum[:])
	req.Header.Set("x-amz-content-sha256", ph)
	signRawPayload(t, node, req, ph)
}

func signRawPayload(t *testing.T, node *apptest.Node, req *http.Request, ph string) {
	t.Helper()
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: node.AccessKey, SecretAccessKey: node.SecretKey},
		req, ph, "s3", node.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
