package local

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestKnownDigest: with a coordinator's digest the engine takes its MD5 as
// the ETag without hashing the body (a planted MD5 shows through), and a
// body whose CRC-32C differs from the digest's installs nothing.
func TestKnownDigest(t *testing.T) {
	// A short body (inline) and one spanning many blocks of a data file,
	// whose CRC is folded from the block CRCs.
	long := strings.Repeat("replicated bytes in a data file ", 100_000)[:3<<20+17]
	for _, body := range []string{"replicated bytes", long} {
		t.Run(fmt.Sprint(len(body)), func(t *testing.T) { testKnownDigest(t, body) })
	}
}

func testKnownDigest(t *testing.T, body string) {
	e := openTest(t, t.TempDir())
	mustBucket(t, e, "b")
	ctx := context.Background()
	crc := crc32.Checksum([]byte(body), crc32.MakeTable(crc32.Castagnoli))
	planted := md5.Sum([]byte("not the body"))
	put := func(key string, d store.BodyDigest, derr error) (store.ObjectInfo, error) {
		opts := store.PutOptions{KnownDigest: func() (store.BodyDigest, error) { return d, derr }}
		return e.PutObject(ctx, "b", key, strings.NewReader(body), -1, opts)
	}
	info, err := put("k", store.BodyDigest{MD5: planted[:], CRC32C: crc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.ETag != hex.EncodeToString(planted[:]) {
		t.Fatalf("ETag %s: the engine hashed the body itself", info.ETag)
	}
	if _, err := put("bad", store.BodyDigest{MD5: planted[:], CRC32C: crc ^ 1}, nil); !errors.Is(err, store.ErrBadDigest) {
		t.Fatalf("CRC mismatch: %v, want ErrBadDigest", err)
	}
	if _, err := put("cut", store.BodyDigest{}, errors.New("no trailer")); !errors.Is(err, store.ErrIncompleteBody) {
		t.Fatalf("missing digest: %v, want ErrIncompleteBody", err)
	}
	for _, k := range []string{"bad", "cut"} {
		if _, err := e.HeadObject(ctx, "b", k); !errors.Is(err, store.ErrNoSuchKey) {
			t.Fatalf("%s was installed: %v", k, err)
		}
	}
}
