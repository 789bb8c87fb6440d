package checksum

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// TestCombineCRC32C splits random bodies at random points (empty parts
// included) and checks the combined CRC against the whole body's.
func TestCombineCRC32C(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	tab := crc32.MakeTable(crc32.Castagnoli)
	for range 300 {
		body := make([]byte, r.IntN(300_000))
		for i := range body {
			body[i] = byte(r.Uint32())
		}
		cut := 0
		if len(body) > 0 {
			cut = r.IntN(len(body) + 1)
		}
		a, b := body[:cut], body[cut:]
		got := CombineCRC32C(crc32.Checksum(a, tab), crc32.Checksum(b, tab), int64(len(b)))
		if want := crc32.Checksum(body, tab); got != want {
			t.Fatalf("%d+%d bytes: combined %08x, want %08x", len(a), len(b), got, want)
		}
	}
}

// TestCombineCRC32CFolds folds many 64 KiB blocks and a tail, as a data
// file's block CRCs are folded.
func TestCombineCRC32CFolds(t *testing.T) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	body := make([]byte, 37*65536+999)
	for i := range body {
		body[i] = byte(i*31 + i>>9)
	}
	var total uint32
	for p := body; len(p) > 0; {
		k := min(len(p), 65536)
		total = CombineCRC32C(total, BlockCRC(p[:k]), int64(k))
		p = p[k:]
	}
	if want := crc32.Checksum(body, tab); total != want {
		t.Fatalf("folded %08x, want %08x", total, want)
	}
}
