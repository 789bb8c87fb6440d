package cluster

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// WriteTo copies a whole range and reports success; a stream that ends
// short with no other holder to fail over to is an error, not an end.
func TestFailoverWriteTo(t *testing.T) {
	body := strings.Repeat("0123456789", 60_000) // 600,000 bytes: three chunks
	info := store.ObjectInfo{Bucket: "b", Key: "k", Size: int64(len(body))}
	whole := &failover{e: &Engine{}, info: info, left: int64(len(body)), cur: io.NopCloser(strings.NewReader(body))}
	var out bytes.Buffer
	n, err := whole.WriteTo(&out)
	if err != nil || n != int64(len(body)) || out.String() != body {
		t.Fatalf("whole range: %d bytes, %v; equal %v", n, err, out.String() == body)
	}

	short := &failover{e: &Engine{}, info: info, left: int64(len(body)), cur: io.NopCloser(strings.NewReader(body[:300_000]))}
	out.Reset()
	n, err = short.WriteTo(&out)
	if !errors.Is(err, io.ErrUnexpectedEOF) || n != 300_000 || out.String() != body[:300_000] {
		t.Fatalf("short stream: %d bytes, err %v", n, err)
	}
}
