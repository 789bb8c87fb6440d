package checksum

import (
	"bytes"
	"crypto/md5"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestMD5LanesMatchCryptoMD5: bodies hashed at once on the lanes, written
// in uneven pieces, sum to crypto/md5's; Close waits for a hash still in
// use, and a hash asked for after Close still works.
func TestMD5LanesMatchCryptoMD5(t *testing.T) {
	l := NewMD5Lanes()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			body := make([]byte, r.IntN(3<<20))
			for j := range body {
				body[j] = byte(r.Uint32())
			}
			h, release := l.Hash()
			defer release()
			for rest := body; len(rest) > 0; {
				n := min(len(rest), 1+r.IntN(100<<10))
				h.Write(rest[:n])
				rest = rest[n:]
			}
			if want := md5.Sum(body); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Errorf("body %d (%d bytes): %x, want %x", i, len(body), h.Sum(nil), want)
			}
		}()
	}
	wg.Wait()

	h, release := l.Hash()
	h.Write([]byte("in use"))
	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a hash was in use")
	case <-time.After(50 * time.Millisecond):
	}
	want := md5.Sum([]byte("in use"))
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Fatalf("in use: %x, want %x", got, want)
	}
	release()
	release() // once only
	<-closed
	h, release = l.Hash()
	defer release()
	h.Write([]byte("after"))
	if want := md5.Sum([]byte("after")); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("a hash after Close is wrong")
	}
	l.Close()
}
