package cluster

import (
	"net"
	"net/http"
	"testing"
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
