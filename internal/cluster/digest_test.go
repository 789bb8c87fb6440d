package cluster

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestDigestTrailerCarriesTheETag sends a body with its digest in an HTTP
// trailer, as a coordinator does to a replica, to a real local engine
// behind a real server: the replica's ETag is the coordinator's MD5, and a
// body that differs from the digest (corrupted on the way) installs nothing.
func TestDigestTrailerCarriesTheETag(t *testing.T) {
	ctx := context.Background()
	l := openTestLocal(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := ensureLocalBucket(r.Context(), l, "b"); err != nil {
			t.Error(err)
		}
		opts := store.PutOptions{KnownDigest: trailerDigest(r, putArgs{Digest: true})}
		info, err := l.PutObject(r.Context(), "b", r.URL.Query().Get("key"), r.Body, -1, opts)
		writeJSON(w, info, err)
	}))
	t.Cleanup(srv.Close)
	send := func(key, body, digestOf string) (string, error) {
		sum := md5.Sum([]byte(digestOf))
		d := store.BodyDigest{MD5: sum[:], CRC32C: crc32.Checksum([]byte(digestOf), crc32.MakeTable(crc32.Castagnoli))}
		tb := newDigestTrailer(strings.NewReader(body), func() (store.BodyDigest, error) { return d, nil }, &chunkPool{})
		req, _ := http.NewRequest("PUT", srv.URL+"/?key="+key, io.NopCloser(tb))
		req.Trailer = tb.trailer
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return "", errors.New(string(b))
		}
		return string(b), nil
	}
	body := strings.Repeat("0123456789", 100_000)
	got, err := send("k", body, body)
	want := md5.Sum([]byte(body))
	if err != nil || !strings.Contains(got, hex.EncodeToString(want[:])) {
		t.Fatalf("whole body: %q, %v; want the ETag %x", got, err, want)
	}
	if _, err := send("bad", body, body[:len(body)-1]+"!"); err == nil {
		t.Fatal("a body that differs from its digest was accepted")
	}
	if _, err := l.HeadObject(ctx, "b", "bad"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("the corrupted body was installed: %v", err)
	}
}
