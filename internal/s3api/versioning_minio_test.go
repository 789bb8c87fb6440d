package s3api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestVersioningMinio runs bucket versioning through minio-go: enabling
// it, version ids on put and copy, stat/get/remove by version, the delete
// marker and its errors, a versioned listing and RemoveObjects with
// versions (the way minio-go's users empty a versioned bucket).
func TestVersioningMinio(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	c := node.Minio(t, "", "", false)
	ctx := context.Background()
	b := "mvers"
	if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.EnableVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.GetBucketVersioning(ctx, b)
	if err != nil || !cfg.Enabled() {
		t.Fatalf("versioning = %+v, %v", cfg, err)
	}
	put := func(body string) string {
		info, err := c.PutObject(ctx, b, "k", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		if err != nil || info.VersionID == "" {
			t.Fatalf("put: %+v, %v", info, err)
		}
		return info.VersionID
	}
	v1, v2 := put("one"), put("two")
	get := func(vid string) (string, error) {
		o, err := c.GetObject(ctx, b, "k", minio.GetObjectOptions{VersionID: vid})
		if err != nil {
			return "", err
		}
		defer o.Close()
		data, err := io.ReadAll(o)
		return string(data), err
	}
	if got, err := get(v1); err != nil || got != "one" {
		t.Fatalf("get v1 = %q, %v", got, err)
	}
	st, err := c.StatObject(ctx, b, "k", minio.StatObjectOptions{VersionID: v2})
	if err != nil || st.VersionID != v2 {
		t.Fatalf("stat v2 = %+v, %v", st, err)
	}
	if _, err := c.StatObject(ctx, b, "k", minio.StatObjectOptions{VersionID: "zz"}); minioCode(err) != "InvalidArgument" && minio.ToErrorResponse(err).StatusCode != http.StatusBadRequest {
		t.Fatalf("stat bad version = %v", err)
	}
	ci, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy"}, minio.CopySrcOptions{Bucket: b, Object: "k", VersionID: v1})
	if err != nil || ci.VersionID == "" || ci.VersionID == v1 {
		t.Fatalf("copy v1 = %+v, %v", ci, err)
	}
	if err := c.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.StatObject(ctx, b, "k", minio.StatObjectOptions{})
	if er := minio.ToErrorResponse(err); er.StatusCode != http.StatusNotFound {
		t.Fatalf("stat behind a delete marker = %v", err)
	}
	if got, err := get(v2); err != nil || got != "two" {
		t.Fatalf("get v2 behind a marker = %q, %v", got, err)
	}
	var kinds []string
	for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{WithVersions: true, Prefix: "k"}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		kind := "v"
		if o.IsDeleteMarker {
			kind = "m"
		}
		kinds = append(kinds, kind)
	}
	if strings.Join(kinds, "") != "mvv" {
		t.Fatalf("versions of k = %v, want marker then two versions", kinds)
	}
	if err := c.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{VersionID: v1}); err != nil {
		t.Fatal(err)
	}
	if _, err := get(v1); minioCode(err) != "NoSuchVersion" {
		t.Fatalf("get removed v1 = %v", err)
	}
	emptyVersioned(t, c, b)
}

// emptyVersioned removes every version and marker of b with RemoveObjects
// and deletes the bucket.
func emptyVersioned(t *testing.T, c *minio.Client, b string) {
	t.Helper()
	ctx := context.Background()
	if err := c.RemoveBucket(ctx, b); minioCode(err) != "BucketNotEmpty" {
		t.Fatalf("remove a bucket holding versions = %v", err)
	}
	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			objs <- o
		}
	}()
	for e := range c.RemoveObjects(ctx, b, objs, minio.RemoveObjectsOptions{}) {
		t.Fatalf("remove %s %s: %v", e.ObjectName, e.VersionID, e.Err)
	}
	if err := c.RemoveBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
}
