package local

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// pieceHash records the size of every Write it is given.
type pieceHash struct {
	hash.Hash
	sizes []int
}

func (p *pieceHash) Write(b []byte) (int, error) {
	p.sizes = append(p.sizes, len(b))
	return p.Hash.Write(b)
}

// TestCopyHashedFeedsWholePieces: a body that arrives a few hundred bytes
// at a time (as a form's file part can) still reaches the hashes in
// pieces of hashPiece bytes, all but the last, and hashes and stores to
// the same bytes.
func TestCopyHashedFeedsWholePieces(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{0, 1, hashPiece - 1, hashPiece, 5*hashPiece + 333} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(r.Uint32())
		}
		md := &pieceHash{Hash: md5.New()}
		var sink memSink
		bw := blockfile.NewWriter(&sink, make([]byte, blockSize))
		src := &trickle{r: bytes.NewReader(body), max: 300}
		n, err := copyHashed(context.Background(), bw, md, nil, iotest.DataErrReader(src))
		if err != nil || n != int64(size) {
			t.Fatalf("size %d: copied %d, %v", size, n, err)
		}
		for i, s := range md.sizes {
			if i < len(md.sizes)-1 && s != hashPiece {
				t.Fatalf("size %d: write %d of %d hashed %d bytes, want %d: %v", size, i, len(md.sizes), s, hashPiece, md.sizes)
			}
		}
		if want := md5.Sum(body); !bytes.Equal(md.Sum(nil), want[:]) {
			t.Fatalf("size %d: wrong MD5", size)
		}
		if err := bw.Finish(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(openImage(t, sink.Bytes()))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("size %d: stored %d bytes (%v), not the body", size, len(got), err)
		}
	}
}

// TestCopyHashedKeepsAVerdict: an error that comes with a body's last
// bytes (as a digest check's does) is returned even when those bytes
// complete a piece.
func TestCopyHashedKeepsAVerdict(t *testing.T) {
	verdict := errors.New("bad digest")
	body := bytes.Repeat([]byte("x"), 2*hashPiece) // the verdict completes the second piece
	var sink memSink
	bw := blockfile.NewWriter(&sink, make([]byte, blockSize))
	src := &lastWithError{trickle: trickle{r: bytes.NewReader(body), max: 7 << 10}, err: verdict}
	if _, err := copyHashed(context.Background(), bw, md5.New(), nil, src); !errors.Is(err, verdict) {
		t.Fatalf("copyHashed returned %v, want the verdict", err)
	}
}

// lastWithError returns err with the last bytes of its body, and (0,
// io.EOF) after them.
type lastWithError struct {
	trickle
	err  error
	done bool
}

func (l *lastWithError) Read(p []byte) (int, error) {
	if l.done {
		return 0, io.EOF
	}
	n, err := l.trickle.Read(p)
	if err == nil && l.trickle.r.(*bytes.Reader).Len() == 0 {
		l.done = true
		return n, l.err
	}
	return n, err
}

// trickle returns at most max bytes per Read.
type trickle struct {
	r   io.Reader
	max int
}

func (t *trickle) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), t.max)]) }

// openImage reads a blockfile image from memory, every block's CRC
// checked.
func openImage(t *testing.T, img []byte) io.Reader {
	t.Helper()
	f := &inlineImage{Reader: bytes.NewReader(img), name: "image", size: int64(len(img)), release: func(*[]byte) {}}
	bf, err := blockfile.Check(f, f.name, -1)
	if err != nil {
		t.Fatal(err)
	}
	return bf.NewReader(0, bf.Size(), nil, nil)
}
