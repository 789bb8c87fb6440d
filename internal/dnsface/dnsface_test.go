package dnsface

import (
	"context"
	"errors"
	"net"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// staticSource is a fixed Source: the test's input, not a stand-in for a
// server.
type staticSource struct {
	nodes    []NodeInfo
	services []string
	err      error
}

func (s staticSource) Nodes(context.Context) ([]NodeInfo, error)  { return s.nodes, s.err }
func (s staticSource) Services(context.Context) ([]string, error) { return s.services, s.err }

// fixture: zone a holds n1 (up) and n2 (down); zone b holds n3 and N4 (up);
// zone c holds only n5 (down).
func fixture() staticSource {
	return staticSource{
		nodes: []NodeInfo{
			{Name: "n1", Zone: "a", IP: net.ParseIP("127.0.0.11"), Port: 9001, Up: true},
			{Name: "n2", Zone: "a", IP: net.ParseIP("127.0.0.12"), Port: 9002, Up: false},
			{Name: "n3", Zone: "b", IP: net.ParseIP("127.0.0.13"), Port: 9003, Up: true},
			{Name: "N4", Zone: "B", IP: net.ParseIP("127.0.0.14"), Port: 9004, Up: true},
			{Name: "n5", Zone: "c", IP: net.ParseIP("127.0.0.15"), Port: 9005, Up: false},
		},
		services: []string{"thumbs", "private-one"},
	}
}

// start runs a Server on 127.0.0.1:0 over src and closes it with the test.
func start(t *testing.T, src Source) *Server {
	t.Helper()
	s, err := New(Config{Addr: "127.0.0.1:0", Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// query asks addr for (name, qtype) over network ("udp" or "tcp").
func query(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 3 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	if r.Id != m.Id || !r.Response {
		t.Fatalf("%s: reply id %d response %v", name, r.Id, r.Response)
	}
	return r
}

// ips lists the addresses of the A and AAAA records in rrs, sorted.
func ips(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.Hdr.Name+"="+rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.Hdr.Name+"="+rr.AAAA.String())
		}
	}
	sort.Strings(out)
	return out
}

// srvs lists the SRV records in rrs as "target:port", sorted.
func srvs(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if srv, ok := rr.(*dns.SRV); ok {
			out = append(out, srv.Target+":"+strconv.Itoa(int(srv.Port)))
		}
	}
	sort.Strings(out)
	return out
}

// wantAddrs checks that name answers NOERROR, AA, with exactly want as
// addresses (each "qname=ip").
func wantAddrs(t *testing.T, r *dns.Msg, want ...string) {
	t.Helper()
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		t.Fatalf("%s: rcode %s aa %v", r.Question[0].Name, dns.RcodeToString[r.Rcode], r.Authoritative)
	}
	sort.Strings(want)
	if got := ips(r.Answer); !slices.Equal(got, want) {
		t.Fatalf("%s: answers %v, want %v", r.Question[0].Name, got, want)
	}
}

// wantRcode checks the rcode and, for NXDOMAIN and NODATA, the SOA in the
// authority section.
func wantRcode(t *testing.T, r *dns.Msg, rcode int) {
	t.Helper()
	name := r.Question[0].Name
	if r.Rcode != rcode {
		t.Fatalf("%s: rcode %s, want %s", name, dns.RcodeToString[r.Rcode], dns.RcodeToString[rcode])
	}
	if len(r.Answer) != 0 {
		t.Fatalf("%s: answers %v, want none", name, r.Answer)
	}
	if rcode == dns.RcodeRefused {
		return
	}
	if len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA || r.Ns[0].Header().Name != "insitu." {
		t.Fatalf("%s: authority %v, want the zone's SOA", name, r.Ns)
	}
}

var errSource = errors.New("source down")
