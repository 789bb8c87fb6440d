package storetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

func uploadPart(t *testing.T, e store.Engine, bucket, key, id string, n int, data []byte) store.PartInfo {
	t.Helper()
	pi, err := e.UploadPart(context.Background(), bucket, key, id, n, bytes.NewReader(data), int64(len(data)), store.PutOptions{})
	if err != nil {
		t.Fatalf("UploadPart(%d): %v", n, err)
	}
	return pi
}

// multipartETag is hex(md5(concat of binary part md5s))-N.
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))
}

func testMultipart(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	put(t, e, "b", "obj", []byte("previous version"))
	meta := store.ObjectMeta{ContentType: "video/mp4", User: map[string]string{"a": "1"}}
	up, err := e.CreateMultipartUpload(ctx, "b", "obj", store.PutOptions{Meta: meta, ChecksumAlgorithm: checksum.CRC32C})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	if up.UploadID == "" || up.Bucket != "b" || up.Key != "obj" || up.ChecksumAlgorithm != checksum.CRC32C || up.Initiated.IsZero() {
		t.Fatalf("upload = %+v", up)
	}
	p1 := randBytes(10, store.MinPartSize)
	p2 := randBytes(11, store.MinPartSize+12345)
	p3 := randBytes(12, 777)
	// Part 2 is uploaded twice; the second upload replaces the first.
	uploadPart(t, e, "b", "obj", up.UploadID, 2, randBytes(99, 1000))
	i3 := uploadPart(t, e, "b", "obj", up.UploadID, 3, p3)
	i1 := uploadPart(t, e, "b", "obj", up.UploadID, 1, p1)
	i2 := uploadPart(t, e, "b", "obj", up.UploadID, 2, p2)
	for _, c := range []struct {
		pi   store.PartInfo
		n    int
		data []byte
	}{{i1, 1, p1}, {i2, 2, p2}, {i3, 3, p3}} {
		sum, _ := checksum.Sum(checksum.CRC32C, c.data)
		if c.pi.Number != c.n || c.pi.Size != int64(len(c.data)) || c.pi.ETag != md5hex(c.data) ||
			c.pi.Checksum.Value != sum || c.pi.Checksum.Algorithm != checksum.CRC32C {
			t.Fatalf("part %d info = %+v (want checksum %s)", c.n, c.pi, sum)
		}
	}
	// The object is untouched until completion.
	if _, got := get(t, e, "b", "obj", nil); string(got) != "previous version" {
		t.Fatalf("object changed before completion")
	}
	oi, err := e.CompleteMultipartUpload(ctx, "b", "obj", up.UploadID, []store.CompletePart{
		{Number: 1, ETag: `"` + i1.ETag + `"`, Checksum: i1.Checksum},
		{Number: 2, ETag: i2.ETag},
		{Number: 3, ETag: i3.ETag, Checksum: store.Checksum{Value: i3.Checksum.Value}},
	})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	whole := append(append(append([]byte(nil), p1...), p2...), p3...)
	wantCk, _ := checksum.Composite(checksum.CRC32C, []string{i1.Checksum.Value, i2.Checksum.Value, i3.Checksum.Value})
	if oi.ETag != multipartETag(p1, p2, p3) || oi.Size != int64(len(whole)) {
		t.Fatalf("completed info etag %s size %d, want %s %d", oi.ETag, oi.Size, multipartETag(p1, p2, p3), len(whole))
	}
	if oi.Checksum != (store.Checksum{Algorithm: checksum.CRC32C, Value: wantCk, Type: "COMPOSITE"}) {
		t.Fatalf("completed checksum = %+v, want composite %s", oi.Checksum, wantCk)
	}
	if len(oi.Parts) != 3 {
		t.Fatalf("Parts = %+v", oi.Parts)
	}
	for i, sz := range []int{len(p1), len(p2), len(p3)} {
		if oi.Parts[i].Number != i+1 || oi.Parts[i].Size != int64(sz) {
			t.Fatalf("Parts[%d] = %+v, want number %d size %d", i, oi.Parts[i], i+1, sz)
		}
	}
	gi, got := get(t, e, "b", "obj", nil)
	if !bytes.Equal(got, whole) {
		t.Fatalf("completed object differs from the parts")
	}
	if gi.ETag != oi.ETag || !reflect.DeepEqual(gi.Meta, meta) || len(gi.Parts) != 3 || gi.Checksum != oi.Checksum {
		t.Fatalf("GetObject info = %+v", gi)
	}
	// A range across the part boundary.
	rng := store.Range{Start: store.MinPartSize - 10, End: store.MinPartSize + 9}
	if _, got := get(t, e, "b", "obj", &rng); !bytes.Equal(got, whole[store.MinPartSize-10:store.MinPartSize+10]) {
		t.Fatalf("range across parts differs")
	}
	// The upload is gone.
	_, err = e.ListParts(ctx, "b", "obj", up.UploadID, 0, 0)
	wantErr(t, "ListParts after complete", err, store.ErrNoSuchUpload)
	_, err = e.CompleteMultipartUpload(ctx, "b", "obj", up.UploadID, []store.CompletePart{{Number: 1, ETag: i1.ETag}})
	wantErr(t, "complete twice", err, store.ErrNoSuchUpload)
	res, err := e.ListMultipartUploads(ctx, "b", store.ListUploadsOptions{})
	if err != nil || len(res.Uploads) != 0 {
		t.Fatalf("uploads after complete: %+v %v", res, err)
	}

	// Without a checksum algorithm, and a single (small) part.
	up2, err := e.CreateMultipartUpload(ctx, "b", "single", store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if up2.ChecksumAlgorithm != "" {
		t.Fatalf("upload without algorithm = %+v", up2)
	}
	pi := uploadPart(t, e, "b", "single", up2.UploadID, 7, []byte("tiny"))
	if pi.Checksum != (store.Checksum{}) {
		t.Fatalf("part without algorithm has checksum %+v", pi.Checksum)
	}
	oi, err = e.CompleteMultipartUpload(ctx, "b", "single", up2.UploadID, []store.CompletePart{{Number: 7, ETag: pi.ETag}})
	if err != nil {
		t.Fatalf("complete single part: %v", err)
	}
	if oi.ETag != multipartETag([]byte("tiny")) || oi.Checksum != (store.Checksum{}) || len(oi.Parts) != 1 || oi.Parts[0].Number != 7 {
		t.Fatalf("single-part object = %+v", oi)
	}
	if _, got := get(t, e, "b", "single", nil); string(got) != "tiny" {
		t.Fatalf("single-part object = %q", got)
	}
}

func testMultipartErrors(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	up, err := e.CreateMultipartUpload(ctx, "b", "k", store.PutOptions{ChecksumAlgorithm: checksum.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	id := up.UploadID
	small := uploadPart(t, e, "b", "k", id, 1, []byte("small part"))
	big := randBytes(20, store.MinPartSize)
	p2 := uploadPart(t, e, "b", "k", id, 2, big)
	p3 := uploadPart(t, e, "b", "k", id, 3, []byte("last"))

	for _, n := range []int{0, -1, store.MaxParts + 1} {
		_, err := e.UploadPart(ctx, "b", "k", id, n, bytes.NewReader([]byte("x")), 1, store.PutOptions{})
		wantErr(t, fmt.Sprintf("UploadPart number %d", n), err, store.ErrInvalidPartNumber)
	}
	// Digest errors, as for PutObject; the stored part stays.
	_, err = e.UploadPart(ctx, "b", "k", id, 1, bytes.NewReader([]byte("other")), 5, store.PutOptions{MD5: make([]byte, 16)})
	wantErr(t, "UploadPart bad MD5", err, store.ErrBadDigest)
	_, err = e.UploadPart(ctx, "b", "k", id, 1, bytes.NewReader([]byte("other")), 5, store.PutOptions{ExpectedChecksum: func() string { return "bm9wZQ==" }})
	wantErr(t, "UploadPart bad checksum", err, store.ErrBadDigest)
	_, err = e.UploadPart(ctx, "b", "k", id, 1, bytes.NewReader([]byte("other")), 50, store.PutOptions{})
	wantErr(t, "UploadPart short body", err, store.ErrIncompleteBody)
	// Unknown uploads.
	for _, c := range []struct{ key, id string }{{"k", "no-such-id"}, {"other-key", id}} {
		_, err = e.UploadPart(ctx, "b", c.key, c.id, 1, bytes.NewReader([]byte("x")), 1, store.PutOptions{})
		wantErr(t, "UploadPart unknown upload "+c.key, err, store.ErrNoSuchUpload)
		_, err = e.ListParts(ctx, "b", c.key, c.id, 0, 0)
		wantErr(t, "ListParts unknown upload", err, store.ErrNoSuchUpload)
		wantErr(t, "Abort unknown upload", e.AbortMultipartUpload(ctx, "b", c.key, c.id), store.ErrNoSuchUpload)
		_, err = e.CompleteMultipartUpload(ctx, "b", c.key, c.id, []store.CompletePart{{Number: 1, ETag: small.ETag}})
		wantErr(t, "Complete unknown upload", err, store.ErrNoSuchUpload)
	}

	cp := func(n int, etag string) store.CompletePart { return store.CompletePart{Number: n, ETag: etag} }
	cases := []struct {
		name  string
		parts []store.CompletePart
		want  error
	}{
		{"no parts", nil, store.ErrInvalidPart},
		{"descending", []store.CompletePart{cp(2, p2.ETag), cp(1, small.ETag)}, store.ErrInvalidPartOrder},
		{"duplicate", []store.CompletePart{cp(2, p2.ETag), cp(2, p2.ETag)}, store.ErrInvalidPartOrder},
		{"missing part", []store.CompletePart{cp(2, p2.ETag), cp(4, p3.ETag)}, store.ErrInvalidPart},
		{"wrong etag", []store.CompletePart{cp(2, p2.ETag), cp(3, small.ETag)}, store.ErrInvalidPart},
		{"wrong checksum", []store.CompletePart{cp(2, p2.ETag), {Number: 3, ETag: p3.ETag, Checksum: store.Checksum{Algorithm: checksum.SHA256, Value: p2.Checksum.Value}}}, store.ErrInvalidPart},
		{"small non-last part", []store.CompletePart{cp(1, small.ETag), cp(2, p2.ETag)}, store.ErrEntityTooSmall},
	}
	for _, tc := range cases {
		_, err := e.CompleteMultipartUpload(ctx, "b", "k", id, tc.parts)
		wantErr(t, "Complete "+tc.name, err, tc.want)
	}
	_, err = e.HeadObject(ctx, "b", "k")
	wantErr(t, "object after failed completes", err, store.ErrNoSuchKey)
	// The upload survived the failures and completes with parts 2 and 3.
	oi, err := e.CompleteMultipartUpload(ctx, "b", "k", id, []store.CompletePart{cp(2, p2.ETag), cp(3, p3.ETag)})
	if err != nil {
		t.Fatalf("Complete after failures: %v", err)
	}
	if oi.ETag != multipartETag(big, []byte("last")) {
		t.Fatalf("etag %s", oi.ETag)
	}
	if _, got := get(t, e, "b", "k", nil); !bytes.Equal(got, append(append([]byte(nil), big...), "last"...)) {
		t.Fatalf("object differs")
	}

	// Abort drops the upload; a second abort fails.
	up2, err := e.CreateMultipartUpload(ctx, "b", "k2", store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uploadPart(t, e, "b", "k2", up2.UploadID, 1, []byte("x"))
	if err := e.AbortMultipartUpload(ctx, "b", "k2", up2.UploadID); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	wantErr(t, "Abort twice", e.AbortMultipartUpload(ctx, "b", "k2", up2.UploadID), store.ErrNoSuchUpload)
	_, err = e.UploadPart(ctx, "b", "k2", up2.UploadID, 2, bytes.NewReader([]byte("x")), 1, store.PutOptions{})
	wantErr(t, "UploadPart after abort", err, store.ErrNoSuchUpload)
	_, err = e.HeadObject(ctx, "b", "k2")
	wantErr(t, "object of aborted upload", err, store.ErrNoSuchKey)
}

func testListParts(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	up, err := e.CreateMultipartUpload(ctx, "b", "k", store.PutOptions{Meta: store.ObjectMeta{ContentType: "text/plain"}})
	if err != nil {
		t.Fatal(err)
	}
	nums := []int{1, 2, 5, 9, 10, 100, 10000}
	for _, n := range nums {
		uploadPart(t, e, "b", "k", up.UploadID, n, []byte(fmt.Sprint("part ", n)))
	}
	cases := []struct {
		marker, max int
		want        []int
		trunc       bool
	}{
		{0, 0, nums, false},
		{0, 3, []int{1, 2, 5}, true},
		{5, 3, []int{9, 10, 100}, true},
		{100, 3, []int{10000}, false},
		{9, 4, []int{10, 100, 10000}, false},
		{10000, 0, nil, false},
		{3, 1, []int{5}, true},
	}
	for _, tc := range cases {
		res, err := e.ListParts(ctx, "b", "k", up.UploadID, tc.marker, tc.max)
		if err != nil {
			t.Fatalf("ListParts(%d, %d): %v", tc.marker, tc.max, err)
		}
		var got []int
		for _, p := range res.Parts {
			got = append(got, p.Number)
			if p.Size != int64(len(fmt.Sprint("part ", p.Number))) || p.ETag != md5hex([]byte(fmt.Sprint("part ", p.Number))) || p.LastModified.IsZero() {
				t.Fatalf("part info %+v", p)
			}
		}
		next := 0
		if tc.trunc {
			next = tc.want[len(tc.want)-1]
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || res.IsTruncated != tc.trunc || res.NextPartNumberMarker != next {
			t.Fatalf("ListParts(%d, %d) = %v trunc %v next %d, want %v %v %d", tc.marker, tc.max, got, res.IsTruncated, res.NextPartNumberMarker, tc.want, tc.trunc, next)
		}
		if res.Upload.UploadID != up.UploadID || res.Upload.Key != "k" || res.Upload.Meta.ContentType != "text/plain" {
			t.Fatalf("ListParts upload = %+v", res.Upload)
		}
	}
}

func testListUploads(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	mkBucket(t, e, "other")
	type u struct{ key, id string }
	var all []u
	for _, k := range []string{"a/1", "a/2", "b", "a/1", "c/d/e", "b"} {
		up, err := e.CreateMultipartUpload(ctx, "b", k, store.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, u{k, up.UploadID})
		if _, err := e.CreateMultipartUpload(ctx, "other", k, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Expected order: by key, then by initiation.
	order := []u{all[0], all[3], all[1], all[2], all[5], all[4]}
	ids := func(us []u) []string {
		var s []string
		for _, x := range us {
			s = append(s, x.key+" "+x.id)
		}
		return s
	}
	got := func(res store.ListUploadsResult) []string {
		var s []string
		for _, x := range res.Uploads {
			s = append(s, x.Key+" "+x.UploadID)
		}
		return s
	}
	cases := []struct {
		name     string
		opts     store.ListUploadsOptions
		want     []u
		cps      []string
		trunc    bool
		nextKey  string
		nextUpID string
	}{
		{"all", store.ListUploadsOptions{}, order, nil, false, "", ""},
		{"prefix", store.ListUploadsOptions{Prefix: "a/"}, order[:3], nil, false, "", ""},
		{"delimiter", store.ListUploadsOptions{Delimiter: "/"}, order[3:5], []string{"a/", "c/"}, false, "", ""},
		{"max", store.ListUploadsOptions{MaxUploads: 2}, order[:2], nil, true, order[1].key, order[1].id},
		{"key marker", store.ListUploadsOptions{KeyMarker: "a/1"}, order[2:], nil, false, "", ""},
		{"key and id marker", store.ListUploadsOptions{KeyMarker: "a/1", UploadIDMarker: order[0].id}, order[1:], nil, false, "", ""},
		{"prefix marker", store.ListUploadsOptions{Delimiter: "/", KeyMarker: "a/"}, order[3:5], []string{"c/"}, false, "", ""},
		{"delimiter max", store.ListUploadsOptions{Delimiter: "/", MaxUploads: 1}, nil, []string{"a/"}, true, "a/", ""},
	}
	for _, tc := range cases {
		res, err := e.ListMultipartUploads(ctx, "b", tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !equalStrings(got(res), ids(tc.want)) || !equalStrings(res.CommonPrefixes, tc.cps) || res.IsTruncated != tc.trunc ||
			res.NextKeyMarker != tc.nextKey || res.NextUploadIDMarker != tc.nextUpID {
			t.Fatalf("%s: got %q cps %q trunc %v next %q/%q\nwant %q cps %q trunc %v next %q/%q", tc.name,
				got(res), res.CommonPrefixes, res.IsTruncated, res.NextKeyMarker, res.NextUploadIDMarker,
				ids(tc.want), tc.cps, tc.trunc, tc.nextKey, tc.nextUpID)
		}
	}
	// Paging with the next markers visits every upload once.
	var paged []string
	opts := store.ListUploadsOptions{MaxUploads: 1}
	for i := 0; ; i++ {
		if i > len(all) {
			t.Fatalf("paging does not end")
		}
		res, err := e.ListMultipartUploads(ctx, "b", opts)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, got(res)...)
		if !res.IsTruncated {
			break
		}
		opts.KeyMarker, opts.UploadIDMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	if !equalStrings(paged, ids(order)) {
		t.Fatalf("paged %q, want %q", paged, ids(order))
	}
}
