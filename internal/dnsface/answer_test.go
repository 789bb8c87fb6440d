package dnsface

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestIPv6Node: an IPv6 node answers AAAA, and A for it is NODATA.
func TestIPv6Node(t *testing.T) {
	src := staticSource{nodes: []NodeInfo{{Name: "six", Zone: "a", IP: net.ParseIP("::1"), Port: 9000, Up: true}}}
	s := start(t, src)
	wantAddrs(t, query(t, "udp", s.Addr(), "six.node.insitu.", dns.TypeAAAA), "six.node.insitu.=::1")
	wantRcode(t, query(t, "udp", s.Addr(), "six.node.insitu.", dns.TypeA), dns.RcodeSuccess)
	r := query(t, "tcp", s.Addr(), "_insitu._tcp.node.insitu.", dns.TypeSRV)
	if got := ips(r.Extra); len(got) != 1 || got[0] != "six.node.insitu.=::1" {
		t.Fatalf("additional %v", got)
	}
}

// TestUnlistableNodes: nodes without an address, with a name that is not
// one label, or with a bad port are left out (the last only of SRV).
func TestUnlistableNodes(t *testing.T) {
	src := staticSource{nodes: []NodeInfo{
		{Name: "ok", IP: net.ParseIP("127.0.0.1"), Port: 9000, Up: true},
		{Name: "noip", Port: 9000, Up: true},
		{Name: "badip", IP: net.IP{1, 2, 3}, Port: 9000, Up: true},
		{Name: "two.labels", IP: net.ParseIP("127.0.0.2"), Port: 9000, Up: true},
		{Name: "noport", IP: net.ParseIP("127.0.0.3"), Up: true},
	}}
	s := start(t, src)
	wantAddrs(t, query(t, "udp", s.Addr(), "node.insitu.", dns.TypeA), "node.insitu.=127.0.0.1", "node.insitu.=127.0.0.3")
	r := query(t, "udp", s.Addr(), "_insitu._tcp.node.insitu.", dns.TypeSRV)
	if got := srvs(r.Answer); len(got) != 1 || got[0] != "ok.node.insitu.:9000" {
		t.Fatalf("SRV %v", got)
	}
	wantRcode(t, query(t, "udp", s.Addr(), "noip.node.insitu.", dns.TypeA), dns.RcodeNameError)
}

// TestRoundRobin: successive answers start at successive nodes.
func TestRoundRobin(t *testing.T) {
	s := start(t, fixture())
	first := map[string]bool{}
	for range 6 {
		r := query(t, "udp", s.Addr(), "node.insitu.", dns.TypeA)
		first[r.Answer[0].(*dns.A).A.String()] = true
	}
	if len(first) != 3 {
		t.Fatalf("first records over 6 queries: %v, want all 3 up nodes", first)
	}
}

// TestTruncation: an answer too big for UDP is cut with TC set, within the
// client's size, and comes whole over TCP.
func TestTruncation(t *testing.T) {
	var src staticSource
	for i := range 200 {
		ip := net.IPv4(127, 1, byte(i/250), byte(i%250+1))
		src.nodes = append(src.nodes, NodeInfo{Name: fmt.Sprintf("node-%03d", i), IP: ip, Port: 9000 + i, Up: true})
	}
	s := start(t, src)
	r := query(t, "udp", s.Addr(), "_insitu._tcp.node.insitu.", dns.TypeSRV)
	r.Compress = true // as it came on the wire
	if !r.Truncated || len(r.Answer) >= 200 || r.Len() > dns.MinMsgSize {
		t.Fatalf("udp: tc %v, %d answers, %d bytes", r.Truncated, len(r.Answer), r.Len())
	}
	r = query(t, "tcp", s.Addr(), "_insitu._tcp.node.insitu.", dns.TypeSRV)
	if r.Truncated || len(r.Answer) != 200 || len(r.Extra) != 200 {
		t.Fatalf("tcp: tc %v, %d answers, %d extra", r.Truncated, len(r.Answer), len(r.Extra))
	}
	m := new(dns.Msg).SetQuestion("node.insitu.", dns.TypeA).SetEdns0(4096, false)
	c := &dns.Client{Net: "udp", UDPSize: 4096, Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if r.Truncated || len(r.Answer) != 200 || r.IsEdns0() == nil {
		t.Fatalf("udp edns0: tc %v, %d answers, opt %v", r.Truncated, len(r.Answer), r.IsEdns0())
	}
}

// TestSourceError: a failing Source gets SERVFAIL, not a false NXDOMAIN.
func TestSourceError(t *testing.T) {
	s := start(t, staticSource{err: errSource})
	for _, name := range []string{"n1.node.insitu.", "thumbs.svc.insitu."} {
		r := query(t, "udp", s.Addr(), name, dns.TypeA)
		if r.Rcode != dns.RcodeServerFailure {
			t.Fatalf("%s: rcode %s, want SERVFAIL", name, dns.RcodeToString[r.Rcode])
		}
	}
}

// TestOpcodeAndClass: other opcodes get NOTIMP, other classes REFUSED.
func TestOpcodeAndClass(t *testing.T) {
	s := start(t, fixture())
	c := &dns.Client{Timeout: 3 * time.Second}
	m := new(dns.Msg).SetQuestion("n1.node.insitu.", dns.TypeA)
	m.Opcode = dns.OpcodeNotify
	r, _, err := c.Exchange(m, s.Addr())
	if err != nil || r.Rcode != dns.RcodeNotImplemented {
		t.Fatalf("notify: %v %v", r, err)
	}
	m = new(dns.Msg).SetQuestion("n1.node.insitu.", dns.TypeA)
	m.Question[0].Qclass = dns.ClassCHAOS
	r, _, err = c.Exchange(m, s.Addr())
	if err != nil || r.Rcode != dns.RcodeRefused {
		t.Fatalf("chaos: %v %v", r, err)
	}
}
