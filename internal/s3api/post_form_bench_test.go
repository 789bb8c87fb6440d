package s3api

import (
	"bytes"
	"io"
	"testing"
)

// chunky returns at most 64 KiB per Read, as a socket tends to.
type chunky struct{ r *bytes.Reader }

func (c chunky) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	return c.r.Read(p)
}

// BenchmarkPostForm reads a 16 MiB file out of a form, the server's own
// cost of a POST upload on top of a PUT's.
func BenchmarkPostForm(b *testing.B) {
	body := formBody([][2]string{{"key", "k"}, {"policy", "e30="}}, bytes.Repeat([]byte("0123456789abcdef"), 1<<20))
	buf := make([]byte, 1<<20)
	b.SetBytes(16 << 20)
	for b.Loop() {
		f, err := readPostForm(chunky{bytes.NewReader(body)}, fuzzBoundary)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f.file}, buf); err != nil || n != 16<<20 {
			b.Fatal(n, err)
		}
	}
}
