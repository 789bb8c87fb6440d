package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// echoDirect is this test binary's direct handler: it runs the bound
// module with the request body as stdin and answers its stdout, or 502
// with the status.
func echoDirect(binding []byte, _ []*os.File, run sandbox.DirectRunner) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out bytes.Buffer
		res := run.Run(r.Context(), []string{"BINDING=" + string(binding)}, r.Body, &out, nil)
		if !res.OK() {
			http.Error(w, string(res.Status)+" "+res.Reason, http.StatusBadGateway)
			return
		}
		w.Write(out.Bytes())
	}), nil
}

// catDirect starts a direct worker of tool.wasm's cat (it answers each
// request body back) and hands it one client connection.
func catDirect(t *testing.T) (*sandbox.Direct, net.Conn, *bufio.Reader) {
	t.Helper()
	r, _ := newRuntime(t, 1)
	id, wasm := module(t, "tool.wasm")
	d, err := r.StartDirect(context.Background(), sandbox.DirectSpec{ModuleID: id, Wasm: wasm,
		Args: []string{"tool", "cat"}, Limits: sandbox.Limits{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	c := handOne(t, d)
	return d, c, bufio.NewReader(c)
}

// handOne accepts a client connection for a direct worker: the parent's
// copy of the socket goes to Hand, as a service handler's would.
func handOne(t *testing.T, d *sandbox.Direct) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	f, err := srv.(*net.TCPConn).File()
	srv.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Hand(f, nil); err != nil {
		t.Fatal(err)
	}
	return client
}

func post(t *testing.T, c net.Conn, br *bufio.Reader, body string) *http.Response {
	t.Helper()
	fmt.Fprintf(c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A direct worker answers every request of a keep-alive connection from
// a fresh instance, and Close of the Runtime takes it down.
func TestDirectServesConnection(t *testing.T) {
	d, c, br := catDirect(t)
	for i := range 3 {
		body := strings.Repeat("x", i*1000+1)
		resp := post(t, c, br, body)
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(got) != body {
			t.Fatalf("request %d: %d %q, want 200 and the body back", i, resp.StatusCode, got)
		}
	}
	if n := d.Conns(); n != 1 {
		t.Errorf("Conns = %d, want 1", n)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for d.Conns() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := d.Conns(); n != 0 {
		t.Errorf("after the client closed: Conns = %d, want 0 (the parent's copy stays open)", n)
	}
}

// A request that overruns its deadline is killed by the kernel; the
// parent answers for it on its own copy of the connection.
func TestDirectDeadlineKills(t *testing.T) {
	r, _ := newRuntime(t, 1)
	id, wasm := module(t, "tool.wasm")
	answered := make(chan bool, 1)
	d, err := r.StartDirect(context.Background(), sandbox.DirectSpec{ModuleID: id, Wasm: wasm,
		Args: []string{"tool", "loop"}, Limits: sandbox.Limits{Timeout: 300 * time.Millisecond},
		OnDeath: func(death sandbox.DirectDeath) {
			if !death.Begun {
				io.WriteString(death.Conn, "HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			}
			if time.Since(death.Started) < 300*time.Millisecond {
				t.Errorf("the run started %v before its death, want the deadline", time.Since(death.Started))
			}
			answered <- death.Begun
		}})
	if err != nil {
		t.Fatal(err)
	}
	c := handOne(t, d)
	start := time.Now()
	resp := post(t, c, bufio.NewReader(c), "")
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504", resp.StatusCode)
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 5*time.Second {
		t.Errorf("answered after %v, want just after the 300ms deadline", el)
	}
	if begun := <-answered; begun {
		t.Error("OnDeath said the response had begun")
	}
	select {
	case <-d.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the worker died")
	}
}

// Drain answers at once when the worker is idle: its idle connections
// close, and the worker ends.
func TestDirectDrain(t *testing.T) {
	d, c, br := catDirect(t)
	if resp := post(t, c, br, "x"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	start := time.Now()
	d.Drain()
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("Drain took %v", el)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("idle connection after Drain: read %d, %v; want EOF", n, err)
	}
	select {
	case <-d.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the drained worker did not end")
	}
}

// Retire lets each connection take one more response, marked
// Connection: close, then the worker ends with its last connection.
func TestDirectRetire(t *testing.T) {
	d, c, br := catDirect(t)
	first := post(t, c, br, "a")
	io.ReadAll(first.Body)
	if first.StatusCode != 200 || first.Close {
		t.Fatalf("before Retire: %d close=%v", first.StatusCode, first.Close)
	}
	d.Retire()
	if d.Serving() {
		t.Error("Serving after Retire")
	}
	resp := post(t, c, br, "b")
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(got) != "b" || !resp.Close {
		t.Fatalf("after Retire: %d %q close=%v, want 200 \"b\" and Connection: close", resp.StatusCode, got, resp.Close)
	}
	select {
	case <-d.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the retired worker did not end with its last connection")
	}
}

// A module that cannot be compiled fails StartDirect, and leaves no
// process behind (newRuntime's cleanup checks).
func TestDirectBadModule(t *testing.T) {
	r, _ := newRuntime(t, 1)
	_, err := r.StartDirect(context.Background(), sandbox.DirectSpec{ModuleID: "bad",
		Wasm: func() ([]byte, error) { return []byte("\x00asm\x01\x00\x00\x00garbage"), nil },
		Args: []string{"bad"}, Limits: sandbox.Limits{Timeout: time.Second}})
	if err == nil {
		t.Fatal("StartDirect of a broken module succeeded")
	}
}
