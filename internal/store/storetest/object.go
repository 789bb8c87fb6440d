package storetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

func testPutGet(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	const blk = 64 << 10
	for i, size := range []int{0, 1, 1000, blk - 1, blk, blk + 1, 3*blk + 17} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := randBytes(uint64(i+1), size)
			key := fmt.Sprintf("obj-%d", size)
			meta := store.ObjectMeta{
				ContentType:  "application/x-test",
				CacheControl: "no-cache",
				User:         map[string]string{"color": "blue"},
			}
			// Unknown size (-1) for odd cases, exact size otherwise.
			declared := int64(size)
			if i%2 == 1 {
				declared = -1
			}
			oi, err := e.PutObject(ctx, "b", key, bytes.NewReader(data), declared, store.PutOptions{Meta: meta})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			if oi.ETag != md5hex(data) || oi.Size != int64(size) || oi.Key != key || oi.Bucket != "b" {
				t.Fatalf("PutObject info = %+v, want etag %s size %d", oi, md5hex(data), size)
			}
			if oi.LastModified.IsZero() || oi.Checksum != (store.Checksum{}) || oi.Parts != nil {
				t.Fatalf("PutObject info = %+v", oi)
			}
			hi, err := e.HeadObject(ctx, "b", key)
			if err != nil {
				t.Fatalf("HeadObject: %v", err)
			}
			if hi.ETag != oi.ETag || hi.Size != oi.Size || !reflect.DeepEqual(hi.Meta, meta) || !hi.LastModified.Equal(oi.LastModified) {
				t.Fatalf("HeadObject = %+v, put returned %+v", hi, oi)
			}
			gi, got := get(t, e, "b", key, nil)
			if !bytes.Equal(got, data) {
				t.Fatalf("GetObject returned %d bytes (md5 %s), want %d (md5 %s)", len(got), md5hex(got), len(data), md5hex(data))
			}
			if gi.ETag != oi.ETag || !reflect.DeepEqual(gi.Meta, meta) {
				t.Fatalf("GetObject info = %+v", gi)
			}
		})
	}
}

func testPutChecksum(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	data := randBytes(7, 100_000)
	for _, alg := range checksum.Algorithms {
		t.Run(alg, func(t *testing.T) {
			want, _ := checksum.Sum(alg, data)
			oi, err := e.PutObject(ctx, "b", alg, bytes.NewReader(data), int64(len(data)), store.PutOptions{
				ChecksumAlgorithm: alg,
				ExpectedChecksum:  func() string { return want },
			})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			wantCk := store.Checksum{Algorithm: alg, Value: want, Type: "FULL_OBJECT"}
			if oi.Checksum != wantCk {
				t.Fatalf("Checksum = %+v, want %+v", oi.Checksum, wantCk)
			}
			hi, err := e.HeadObject(ctx, "b", alg)
			if err != nil || hi.Checksum != wantCk {
				t.Fatalf("HeadObject checksum = %+v, %v", hi.Checksum, err)
			}
		})
	}
}

func testPutErrors(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	old := randBytes(1, 5000)
	data := randBytes(2, 200_000)
	goodMD5 := md5.Sum(data)
	crc, _ := checksum.Sum(checksum.CRC32C, data)
	errBody := errors.New("signature mismatch at EOF")
	cases := []struct {
		name string
		r    io.Reader
		size int64
		opts store.PutOptions
		want error
	}{
		{"body shorter than size", bytes.NewReader(data), int64(len(data)) + 1, store.PutOptions{}, store.ErrIncompleteBody},
		{"body longer than size", bytes.NewReader(data), int64(len(data)) - 1, store.PutOptions{}, store.ErrIncompleteBody},
		{"bad Content-MD5", bytes.NewReader(data), int64(len(data)), store.PutOptions{MD5: make([]byte, 16)}, store.ErrBadDigest},
		{"bad checksum", bytes.NewReader(data), int64(len(data)), store.PutOptions{
			ChecksumAlgorithm: checksum.CRC32C,
			ExpectedChecksum:  func() string { return "AAAAAA==" },
		}, store.ErrBadDigest},
		{"checksum expected, none computed", bytes.NewReader(data), int64(len(data)), store.PutOptions{
			ExpectedChecksum: func() string { return crc },
		}, store.ErrBadDigest},
		{"body read error", &errReader{data: data, err: errBody}, int64(len(data)), store.PutOptions{}, errBody},
		{"body read error, unknown size", &errReader{data: data, err: errBody}, -1, store.PutOptions{}, errBody},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "k-" + tc.name
			put(t, e, "b", key, old)
			_, err := e.PutObject(ctx, "b", key, tc.r, tc.size, tc.opts)
			wantErr(t, "PutObject", err, tc.want)
			// The failed put changed nothing.
			oi, got := get(t, e, "b", key, nil)
			if !bytes.Equal(got, old) || oi.ETag != md5hex(old) {
				t.Fatalf("after failed put the object is %d bytes etag %s, want the old one", len(got), oi.ETag)
			}
			// A fresh key stays absent.
			_, err = e.PutObject(ctx, "b", key+"-new", replay(tc.r, data, errBody), tc.size, tc.opts)
			wantErr(t, "PutObject new key", err, tc.want)
			_, err = e.HeadObject(ctx, "b", key+"-new")
			wantErr(t, "HeadObject after failed put", err, store.ErrNoSuchKey)
		})
	}
	// The good digests pass.
	_, err := e.PutObject(ctx, "b", "good", bytes.NewReader(data), int64(len(data)), store.PutOptions{
		MD5: goodMD5[:], ChecksumAlgorithm: checksum.CRC32C, ExpectedChecksum: func() string { return crc },
	})
	if err != nil {
		t.Fatalf("PutObject with correct digests: %v", err)
	}
	res, err := e.ListObjects(ctx, "b", store.ListOptions{Prefix: "k-"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != len(cases) {
		t.Fatalf("listed %d objects under k-, want %d (failed puts must not be listed)", len(res.Objects), len(cases))
	}
}

// replay returns a fresh reader like r over data.
func replay(r io.Reader, data []byte, errBody error) io.Reader {
	if _, ok := r.(*errReader); ok {
		return &errReader{data: data, err: errBody}
	}
	return bytes.NewReader(data)
}

func testIfNoneMatch(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	opts := store.PutOptions{IfNoneMatchStar: true}
	if _, err := e.PutObject(ctx, "b", "k", bytes.NewReader([]byte("one")), 3, opts); err != nil {
		t.Fatalf("first put with If-None-Match: %v", err)
	}
	_, err := e.PutObject(ctx, "b", "k", bytes.NewReader([]byte("two")), 3, opts)
	wantErr(t, "second put with If-None-Match", err, store.ErrPreconditionFailed)
	_, got := get(t, e, "b", "k", nil)
	if string(got) != "one" {
		t.Fatalf("object = %q, want %q", got, "one")
	}
}

func testRanges(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	const size = 3*(64<<10) + 100
	data := randBytes(3, size)
	put(t, e, "b", "k", data)
	put(t, e, "b", "empty", nil)
	cases := []struct {
		name       string
		rng        store.Range
		start, end int // expected slice of data, end exclusive
		err        error
	}{
		{"first byte", store.Range{Start: 0, End: 0}, 0, 1, nil},
		{"open end", store.Range{Start: 10, End: -1}, 10, size, nil},
		{"end clamped", store.Range{Start: 5, End: size * 2}, 5, size, nil},
		{"last byte", store.Range{Start: size - 1, End: size - 1}, size - 1, size, nil},
		{"across a block boundary", store.Range{Start: 65530, End: 65545}, 65530, 65546, nil},
		{"whole middle block", store.Range{Start: 65536, End: 131071}, 65536, 131072, nil},
		{"spanning blocks", store.Range{Start: 1000, End: 150000}, 1000, 150001, nil},
		{"suffix", store.Range{Suffix: 500}, size - 500, size, nil},
		{"suffix longer than object", store.Range{Suffix: size * 3}, 0, size, nil},
		{"start beyond", store.Range{Start: size, End: -1}, 0, 0, store.ErrInvalidRange},
		{"end before start", store.Range{Start: 10, End: 5}, 0, 0, store.ErrInvalidRange},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := tc.rng
			if tc.err != nil {
				_, _, err := e.GetObject(ctx, "b", "k", &rng)
				wantErr(t, "GetObject", err, tc.err)
				return
			}
			oi, got := get(t, e, "b", "k", &rng)
			if oi.Size != size {
				t.Fatalf("info size %d, want the object's %d", oi.Size, size)
			}
			if !bytes.Equal(got, data[tc.start:tc.end]) {
				t.Fatalf("range %+v: got %d bytes, want data[%d:%d]", tc.rng, len(got), tc.start, tc.end)
			}
		})
	}
	for _, r := range []store.Range{{Start: 0, End: -1}, {Suffix: 1}} {
		_, _, err := e.GetObject(ctx, "b", "empty", &r)
		wantErr(t, "range of empty object", err, store.ErrInvalidRange)
	}
	_, got := get(t, e, "b", "empty", nil)
	if len(got) != 0 {
		t.Fatalf("empty object read %d bytes", len(got))
	}
}

func testOverwriteDelete(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	a, b := randBytes(4, 70_000), randBytes(5, 1234)
	put(t, e, "b", "k", a)
	oi := put(t, e, "b", "k", b)
	gi, got := get(t, e, "b", "k", nil)
	if !bytes.Equal(got, b) || gi.ETag != oi.ETag || gi.Size != int64(len(b)) {
		t.Fatalf("after overwrite got %d bytes etag %s, want the second put", len(got), gi.ETag)
	}
	if err := e.DeleteObject(ctx, "b", "k"); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	_, _, err := e.GetObject(ctx, "b", "k", nil)
	wantErr(t, "GetObject deleted", err, store.ErrNoSuchKey)
	_, err = e.HeadObject(ctx, "b", "k")
	wantErr(t, "HeadObject deleted", err, store.ErrNoSuchKey)
	if err := e.DeleteObject(ctx, "b", "k"); err != nil {
		t.Fatalf("DeleteObject again: %v", err)
	}
	if err := e.DeleteObject(ctx, "b", "never"); err != nil {
		t.Fatalf("DeleteObject never existed: %v", err)
	}
	res, err := e.ListObjects(ctx, "b", store.ListOptions{})
	if err != nil || len(res.Objects) != 0 {
		t.Fatalf("list after delete = %+v, %v", res, err)
	}
}

// testReaderSurvivesOverwrite: a reader returned by GetObject keeps reading
// the version it opened.
func testReaderSurvivesOverwrite(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	a := randBytes(6, 300_000)
	put(t, e, "b", "k", a)
	_, rc, err := e.GetObject(ctx, "b", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatal(err)
	}
	put(t, e, "b", "k", []byte("new"))
	if err := e.DeleteObject(ctx, "b", "k"); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading after overwrite and delete: %v", err)
	}
	if !bytes.Equal(append(head, rest...), a) {
		t.Fatalf("reader returned other bytes after overwrite")
	}
}
