package cluster

import (
	"context"
	"io"
	"testing"
	"time"
)

// A peer's body that stops delivering bytes is cut after the idle limit
// (the request's context is cancelled), so a read cannot hang on a
// paused peer; one that keeps delivering is not.
func TestIdleReaderCutsAStalledBody(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() { <-ctx.Done(); pw.CloseWithError(ctx.Err()) }() // the transport aborts the body on cancel
	// Generous against a loaded CI box (a 50 ms sleep once overran a 100
	// ms limit): the writer pauses 10 ms, the limit is a second.
	r := newIdleReader(pr, cancel, time.Second)
	defer r.Close()
	go func() {
		for range 5 {
			pw.Write([]byte("x"))
			time.Sleep(10 * time.Millisecond)
		}
	}()
	buf := make([]byte, 1)
	for range 5 {
		if _, err := r.Read(buf); err != nil {
			t.Fatalf("a body that keeps delivering was cut: %v", err)
		}
	}
	start := time.Now()
	if _, err := r.Read(buf); err == nil {
		t.Fatal("a stalled body read succeeded")
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("cut after %s", waited)
	}
}
