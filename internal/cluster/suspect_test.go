package cluster

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// A refused connection makes the peer suspect (placement skips it until
// its lease expires); an answer from it clears it.
func TestSuspectsFromRefusedDial(t *testing.T) {
	sus := newSuspects()
	hc := &http.Client{Transport: sus.wrap(&http.Transport{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	peer := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := hc.Get(peer); err == nil || !sus.has(peer) {
		t.Fatalf("refused: %v, suspect %v", err, sus.has(peer))
	}
	if sus.has("http://127.0.0.1:1") {
		t.Fatal("another peer is suspect")
	}
	ln, err = net.Listen("tcp", ln.Addr().String())
	if err != nil {
		t.Skip("the port was taken again:", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := hc.Get(peer)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sus.has(peer) {
		t.Fatal("a peer that answered is still suspect")
	}
}

// A peer that stops being suspect, because it answered or because its
// time ran out, calls cleared once (the cluster asks for a repair pass:
// writes were placed around it); setting a peer suspect does not.
func TestSuspectsClearedCallsBack(t *testing.T) {
	sus := newSuspects()
	calls := 0
	sus.onClear(func() { calls++ })
	sus.set("a:1", true)
	sus.set("b:1", false) // never suspect: nothing cleared
	if calls != 0 {
		t.Fatalf("cleared called %d times before any peer cleared", calls)
	}
	sus.set("a:1", false)
	if calls != 1 || sus.has("http://a:1") {
		t.Fatalf("answered: cleared called %d times, suspect %v", calls, sus.has("http://a:1"))
	}
	sus.set("a:1", true)
	sus.mu.Lock()
	sus.until["a:1"] = time.Now().Add(-time.Second) // its time ran out
	sus.mu.Unlock()
	sus.expire()
	sus.expire()
	if calls != 2 || sus.has("http://a:1") {
		t.Fatalf("expired: cleared called %d times, suspect %v", calls, sus.has("http://a:1"))
	}
}
