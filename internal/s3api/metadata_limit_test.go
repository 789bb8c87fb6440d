package s3api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestUserMetadataLimit pins issue 8 item 5: user metadata is limited to
// 2 KB (names without the prefix plus values), as in S3, on every write
// that sets it.
func TestUserMetadataLimit(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("meta")}); err != nil {
		t.Fatal(err)
	}
	atLimit := map[string]string{"k": strings.Repeat("v", 2047)}
	over := map[string]string{"k": strings.Repeat("v", 2048)}
	many := map[string]string{}
	for i := range 500 {
		many[fmt.Sprintf("m%03d", i)] = "x"
	}
	put := func(meta map[string]string) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("meta"), Key: aws.String("o"), Body: strings.NewReader("x"), Metadata: meta})
		return err
	}
	if err := put(atLimit); err != nil {
		t.Fatalf("2 KB of metadata: %v", err)
	}
	wantCode(t, put(over), "MetadataTooLarge")
	wantCode(t, put(many), "MetadataTooLarge")
	_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("meta"), Key: aws.String("c"), CopySource: aws.String("meta/o"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: over})
	wantCode(t, err, "MetadataTooLarge")
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("meta"), Key: aws.String("m"), Metadata: over})
	wantCode(t, err, "MetadataTooLarge")
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("meta"), Key: aws.String("c")}); err == nil {
		t.Fatal("a refused copy stored its target")
	}
}

// TestHeaderBlockLimit pins issue 8 item 5: the server bounds the request
// header block (a 900 KB header used to be read and stored).
func TestHeaderBlockLimit(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	req := signedRequest(t, node, http.MethodPut, "/meta/o", []byte("x"), node.AccessKey, node.SecretKey, time.Now())
	req.Header.Set("X-Pad", strings.Repeat("p", 900<<10))
	resp, err := node.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("900 KB header: %s", resp.Status)
	}
}
