package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		21 << 20: "21.0 MiB", 5 << 30: "5.0 GiB", 3 << 40: "3.0 TiB",
	} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	p := &progress{totalFiles: 4}
	p.total.Store(200)
	p.Read(make([]byte, 50))
	p.wrap(strings.NewReader(strings.Repeat("x", 50))).Read(make([]byte, 100))
	p.fileDone()
	got := p.line(time.Second)
	want := "[###############---------------]  50%  100 B / 200 B  100 B/s  1/4 files"
	if got != want {
		t.Errorf("line = %q\nwant   %q", got, want)
	}
	p.addTotal(-1)
	if got := p.line(2 * time.Second); got != "100 B  50 B/s  1/4 files" {
		t.Errorf("unknown total: %q", got)
	}
}

func TestProgressOffWhenNotTerminal(t *testing.T) {
	var b bytes.Buffer
	if p := newProgress(&b, 10, 0); p != nil {
		t.Fatal("progress on a buffer")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := newProgress(f, 10, 0); p != nil {
		t.Fatal("progress on a regular file")
	}
	// A nil progress is usable.
	var p *progress
	p.addTotal(5)
	p.fileDone()
	p.finish()
	if p.reader() != nil {
		t.Error("nil progress gives a non-nil reader")
	}
	if r := strings.NewReader("x"); p.wrap(r) != r {
		t.Error("nil progress wraps")
	}
}
