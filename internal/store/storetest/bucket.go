package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

func testBuckets(t *testing.T, e store.Engine) {
	ctx := context.Background()
	for _, name := range []string{"zeta", "alpha", "mid-bucket"} {
		mkBucket(t, e, name)
	}
	wantErr(t, "create again, same owner", e.CreateBucket(ctx, store.BucketInfo{Name: "alpha", Owner: owner}), store.ErrBucketOwnedByYou)
	wantErr(t, "create again, other owner", e.CreateBucket(ctx, store.BucketInfo{Name: "alpha", Owner: "bob"}), store.ErrBucketExists)

	bi, err := e.GetBucket(ctx, "alpha")
	if err != nil {
		t.Fatalf("GetBucket: %v", err)
	}
	if bi.Name != "alpha" || bi.Owner != owner || bi.Created.IsZero() {
		t.Fatalf("GetBucket = %+v", bi)
	}
	_, err = e.GetBucket(ctx, "nope")
	wantErr(t, "GetBucket missing", err, store.ErrNoSuchBucket)

	list, err := e.ListBuckets(ctx)
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	var names []string
	for _, b := range list {
		names = append(names, b.Name)
	}
	if got, want := names, []string{"alpha", "mid-bucket", "zeta"}; !equalStrings(got, want) {
		t.Fatalf("ListBuckets names = %q, want %q", got, want)
	}

	wantErr(t, "delete missing", e.DeleteBucket(ctx, "nope"), store.ErrNoSuchBucket)
	put(t, e, "zeta", "k", []byte("v"))
	wantErr(t, "delete non-empty", e.DeleteBucket(ctx, "zeta"), store.ErrBucketNotEmpty)
	if err := e.DeleteObject(ctx, "zeta", "k"); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if err := e.DeleteBucket(ctx, "zeta"); err != nil {
		t.Fatalf("DeleteBucket emptied: %v", err)
	}
	_, err = e.GetBucket(ctx, "zeta")
	wantErr(t, "GetBucket deleted", err, store.ErrNoSuchBucket)
	// A deleted name can be created again, by anyone, and starts empty.
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "zeta", Owner: "bob"}); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	res, err := e.ListObjects(ctx, "zeta", store.ListOptions{})
	if err != nil || len(res.Objects) != 0 {
		t.Fatalf("recreated bucket lists %+v, %v", res, err)
	}
}

// testDeleteBucketDropsUploads: only objects make a bucket non-empty; its
// in-progress uploads go away with it.
func testDeleteBucketDropsUploads(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	up, err := e.CreateMultipartUpload(ctx, "b", "big", store.PutOptions{})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	if _, err := e.UploadPart(ctx, "b", "big", up.UploadID, 1, bytes.NewReader([]byte("part")), 4, store.PutOptions{}); err != nil {
		t.Fatalf("UploadPart: %v", err)
	}
	if err := e.DeleteBucket(ctx, "b"); err != nil {
		t.Fatalf("DeleteBucket with only an upload: %v", err)
	}
	mkBucket(t, e, "b")
	res, err := e.ListMultipartUploads(ctx, "b", store.ListUploadsOptions{})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	if len(res.Uploads) != 0 {
		t.Fatalf("uploads survived their bucket: %+v", res.Uploads)
	}
	_, err = e.ListParts(ctx, "b", "big", up.UploadID, 0, 0)
	wantErr(t, "ListParts of dropped upload", err, store.ErrNoSuchUpload)
}

// testMissingBucket: every object call on a missing bucket fails with
// ErrNoSuchBucket.
func testMissingBucket(t *testing.T, e store.Engine) {
	ctx := context.Background()
	const b = "missing"
	body := func() *bytes.Reader { return bytes.NewReader([]byte("x")) }
	calls := []struct {
		name string
		call func() error
	}{
		{"PutObject", func() error {
			_, err := e.PutObject(ctx, b, "k", body(), 1, store.PutOptions{})
			return err
		}},
		{"HeadObject", func() error { _, err := e.HeadObject(ctx, b, "k"); return err }},
		{"GetObject", func() error { _, _, err := e.GetObject(ctx, b, "k", nil); return err }},
		{"DeleteObject", func() error { return e.DeleteObject(ctx, b, "k") }},
		{"ListObjects", func() error { _, err := e.ListObjects(ctx, b, store.ListOptions{}); return err }},
		{"CreateMultipartUpload", func() error {
			_, err := e.CreateMultipartUpload(ctx, b, "k", store.PutOptions{})
			return err
		}},
		{"UploadPart", func() error {
			_, err := e.UploadPart(ctx, b, "k", "id", 1, body(), 1, store.PutOptions{})
			return err
		}},
		{"ListParts", func() error { _, err := e.ListParts(ctx, b, "k", "id", 0, 0); return err }},
		{"AbortMultipartUpload", func() error { return e.AbortMultipartUpload(ctx, b, "k", "id") }},
		{"CompleteMultipartUpload", func() error {
			_, err := e.CompleteMultipartUpload(ctx, b, "k", "id", []store.CompletePart{{Number: 1, ETag: "x"}})
			return err
		}},
		{"ListMultipartUploads", func() error {
			_, err := e.ListMultipartUploads(ctx, b, store.ListUploadsOptions{})
			return err
		}},
	}
	for _, c := range calls {
		wantErr(t, c.name, c.call(), store.ErrNoSuchBucket)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
