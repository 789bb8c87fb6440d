package freeport

import (
	"net"
	"strconv"
	"testing"
)

// Picked ports are bindable and lie below the ephemeral range where
// there is room for them.
func TestPickBelowEphemeralRange(t *testing.T) {
	lo := ephemeralStart()
	seen := map[int]bool{}
	for range 20 {
		p, err := Pick("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if lo-floor >= 1000 && (p < floor || p >= lo) {
			t.Fatalf("port %d outside [%d, %d)", p, floor, lo)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("picked port %d cannot be bound: %v", p, err)
		}
		ln.Close()
	}
	if len(seen) < 10 {
		t.Fatalf("20 picks gave only %d distinct ports", len(seen))
	}
}

// probe refuses a port held by a listener: the check that keeps Pick
// from choosing one.
func TestPickSkipsBoundPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := probe("127.0.0.1", ln.Addr().(*net.TCPAddr).Port); err == nil {
		t.Fatal("probe bound a port already in use")
	}
}
