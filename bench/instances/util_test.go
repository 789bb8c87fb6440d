package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestWaitPageOverlap: a request that hangs (as one made before the
// guest had its address does, in slirp) neither holds back the answer of
// a later one nor waitPage's return: it is cancelled (well before its own
// 10 s timeout).
func TestWaitPageOverlap(t *testing.T) {
	var n atomic.Int64
	cancelled := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done() // the first request hangs until its client gives up
			close(cancelled)
			return
		}
		fmt.Fprint(w, "<h1>insitu tiny: i-1</h1>")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := waitPage(ctx, ln.Addr().String(), "i-1", true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the hanging request was not cancelled")
	}
	if d := time.Since(start); d >= 10*time.Second {
		t.Fatalf("waitPage waited %v: for the hanging request's timeout", d)
	}
}

// TestProcCPU: the CPU time read from /proc/PID/stat grows with work done
// and stays below the process's wall time; an absent pid is not ok.
func TestProcCPU(t *testing.T) {
	start := time.Now()
	before, ok := procCPU(os.Getpid())
	if !ok {
		t.Fatal("procCPU(self) not ok")
	}
	x := 0
	for time.Since(start) < 300*time.Millisecond {
		x++
	}
	after, ok := procCPU(os.Getpid())
	if !ok || after <= before {
		t.Fatalf("CPU time %s then %s (ok %v) after busy work (%d loops)", before, after, ok, x)
	}
	if _, ok := procCPU(1 << 30); ok {
		t.Fatal("procCPU of an absent pid reported ok")
	}
}
