package services_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/client"
)

// trickle opens a connection that sends a POST to path with a declared body
// of size bytes, one byte per tick, until the body is sent, the write
// fails or stop is closed. sent counts bytes; done is incremented when
// the whole body went out.
func (e *env) trickle(path string, size int, stop <-chan struct{}, sent, done *atomic.Int64) net.Conn {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.node.Addr())
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", path, e.node.Addr(), size)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < size; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
			sent.Add(1)
		}
		done.Add(1)
	}()
	return conn
}

// TestSlowBodiesHoldNoWorker: more anonymous connections trickling their
// bodies than there are sandbox workers do not keep a normal request from
// being served: it completes while every slow body is still arriving.
func TestSlowBodiesHoldNoWorker(t *testing.T) {
	e := setup(t)
	e.create("echo", client.ServiceSpec{App: "echo", Public: public(), Timeout: "5m"})
	const slow = 3 // apptest runs 2 sandbox workers
	stop := make(chan struct{})
	defer close(stop)
	var sent, done atomic.Int64
	for range slow {
		defer e.trickle("/svc/echo/slow", 3000, stop, &sent, &done).Close()
	}
	// Let every slow request reach the handler and send a few bytes.
	for sent.Load() < 5*slow {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.node.Endpoint()+"/svc/echo/normal", strings.NewReader("quick"))
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatalf("the normal request while %d bodies trickle: %v (slow bodies done: %d)", slow, err, done.Load())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasSuffix(string(body), "\nquick") {
		t.Fatalf("normal request: %d %q", resp.StatusCode, body)
	}
	if n := done.Load(); n != 0 {
		t.Fatalf("the normal request was served only after %d slow bodies had arrived", n)
	}
}

// TestSlowBodyTimesOut: a body that does not arrive within the service's
// timeout is answered 408 before any run starts (not 504 from a guest
// left waiting on its stdin).
func TestSlowBodyTimesOut(t *testing.T) {
	e := setup(t)
	e.create("echo", client.ServiceSpec{App: "echo", Public: public(), Timeout: "1s"})
	conn, err := net.Dial("tcp", e.node.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /svc/echo/ HTTP/1.1\r\nHost: %s\r\nContent-Length: 10\r\n\r\nx", e.node.Addr())
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled body: %d, want 408", resp.StatusCode)
	}
	if st, err := e.api.ServiceStats(context.Background(), "echo"); err != nil || st.ByStatus["408"] != 1 {
		t.Fatalf("stats: %+v %v", st, err)
	}
}

// A body that keeps moving, but too slowly to arrive whole within the
// service's timeout, is refused with 408 before any run starts, even though
// each byte comes well within the server's per-read body window.
func TestTricklingBodyTimesOut(t *testing.T) {
	e := setup(t)
	e.create("echo", client.ServiceSpec{App: "echo", Public: public(), Timeout: "1s"})
	conn, err := net.Dial("tcp", e.node.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /svc/echo/ HTTP/1.1\r\nHost: %s\r\nContent-Length: 10\r\n\r\n", e.node.Addr())
	go func() {
		for range 10 { // 3 s in all: three times the service's timeout
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("a body trickling past the service's timeout: %d, want 408", resp.StatusCode)
	}
}
