package storetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// owner is the account that owns buckets created by the suite.
const owner = "alice"

func mkBucket(t *testing.T, e store.Engine, name string) {
	t.Helper()
	if err := e.CreateBucket(context.Background(), store.BucketInfo{Name: name, Owner: owner}); err != nil {
		t.Fatalf("CreateBucket(%q): %v", name, err)
	}
}

func put(t *testing.T, e store.Engine, bucket, key string, data []byte) store.ObjectInfo {
	t.Helper()
	oi, err := e.PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), store.PutOptions{})
	if err != nil {
		t.Fatalf("PutObject(%s/%s): %v", bucket, key, err)
	}
	return oi
}

// get reads the object (or range) fully and returns its info and bytes.
func get(t *testing.T, e store.Engine, bucket, key string, rng *store.Range) (store.ObjectInfo, []byte) {
	t.Helper()
	oi, rc, err := e.GetObject(context.Background(), bucket, key, rng)
	if err != nil {
		t.Fatalf("GetObject(%s/%s, %+v): %v", bucket, key, rng, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return oi, b
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func wantErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Fatalf("%s: got error %v, want %v", what, got, want)
	}
}

// errReader returns data, then err instead of EOF.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}
