package dnsface

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestNewConfig: defaults, a custom domain (any case, no trailing dot) and
// TTL, and the configurations New refuses.
func TestNewConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Addr: "127.0.0.1:0"},
		{Source: fixture()},
		{Addr: "127.0.0.1", Source: fixture()},
		{Addr: "127.0.0.1:0", Source: fixture(), Domain: "."},
		{Addr: "127.0.0.1:0", Source: fixture(), Domain: "a..b"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	s, err := New(Config{Addr: "127.0.0.1:0", Source: fixture(), Domain: "Cloud.Example", TTL: 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := query(t, "udp", s.Addr(), "n1.node.cloud.example.", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 30 {
		t.Fatalf("custom domain: %v", r)
	}
	if r := query(t, "udp", s.Addr(), "n1.node.insitu.", dns.TypeA); r.Rcode != dns.RcodeRefused {
		t.Fatalf("default domain under a custom one: %s", dns.RcodeToString[r.Rcode])
	}
}

// TestLifecycle: Close releases both sockets and is idempotent; Start is
// refused a second time and after Close; Close before Start is harmless.
func TestLifecycle(t *testing.T) {
	idle, err := New(Config{Addr: "127.0.0.1:0", Source: fixture()})
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.Close(); err != nil || idle.Start(t.Context()) == nil || idle.Addr() != "" {
		t.Fatalf("close before start: %v", err)
	}
	s := start(t, fixture())
	if s.Start(t.Context()) == nil {
		t.Fatal("second Start accepted")
	}
	addr := s.Addr()
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	wantFree(t, addr, time.Second)
}

// TestContextStops: cancelling Start's context stops serving; Close then
// returns at once.
func TestContextStops(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Source: fixture()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	query(t, "udp", s.Addr(), "n1.node.insitu.", dns.TypeA)
	cancel()
	wantFree(t, s.Addr(), 5*time.Second)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// wantFree waits until addr can be bound again over UDP and TCP.
func wantFree(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		pc, ln, err := listen(addr)
		if err == nil {
			pc.Close()
			ln.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still bound: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGarbage: junk over UDP and TCP gets no answer or FORMERR, and the
// server keeps answering.
func TestGarbage(t *testing.T) {
	s := start(t, fixture())
	junk := [][]byte{{}, {0}, {1, 2, 3}, make([]byte, 12), []byte("GET / HTTP/1.1\r\n\r\n"), {0xff, 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12}}
	u, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for _, b := range junk {
		u.Write(b)
	}
	for _, b := range junk {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(append([]byte{byte(len(b) >> 8), byte(len(b))}, b...))
		c.Close()
	}
	wantAddrs(t, query(t, "udp", s.Addr(), "n1.node.insitu.", dns.TypeA), "n1.node.insitu.=127.0.0.11")
	wantAddrs(t, query(t, "tcp", s.Addr(), "n1.node.insitu.", dns.TypeA), "n1.node.insitu.=127.0.0.11")
}
