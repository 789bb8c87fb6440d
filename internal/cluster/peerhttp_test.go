package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// silentPeer accepts connections and never reads or answers, as a
// stopped (SIGSTOP) or cut-off node does; its kernel still accepts.
func silentPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// A call to a silent peer, small or streaming a large body, fails within
// the timeout (not as the caller's cancel: the S3 face would answer 499
// and the client would not retry) and makes the peer suspect; a refused
// connection does too, and an answer clears it.
func TestPeerTransportBoundsASilentPeer(t *testing.T) {
	sus := newSuspects()
	hc := &http.Client{Transport: sus.wrap(peerTransport(300 * time.Millisecond))}
	peer := silentPeer(t)
	for _, size := range []int{100, 64 << 20} {
		start := time.Now()
		body := io.NopCloser(bytes.NewReader(make([]byte, size))) // streamed, like a PUT
		req, _ := http.NewRequestWithContext(context.Background(), "PUT", peer+"/x", body)
		_, err := hc.Do(req)
		if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Fatalf("%d bytes to a silent peer: %v, want a peer error", size, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%d bytes to a silent peer failed after %v", size, d)
		}
		if !sus.has(peer) {
			t.Fatalf("%d bytes: the silent peer is not suspect", size)
		}
		sus.set(peer[len("http://"):], false)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := hc.Get(refused); err == nil || !sus.has(refused) {
		t.Fatalf("refused: %v, suspect %v", err, sus.has(refused))
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	ln, err := net.Listen("tcp", ln.Addr().String())
	if err != nil {
		t.Skip("port taken again:", err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	if resp, err := hc.Get(refused); err != nil || sus.has(refused) {
		t.Fatalf("answered: %v, suspect %v", err, sus.has(refused))
	} else {
		resp.Body.Close()
	}
}
