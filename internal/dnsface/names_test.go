package dnsface

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// TestRecords asks for every kind of name over UDP and TCP.
func TestRecords(t *testing.T) {
	s := start(t, fixture())
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ask := func(name string, qtype uint16) *dns.Msg { return query(t, network, s.Addr(), name, qtype) }
			wantAddrs(t, ask("n1.node.insitu.", dns.TypeA), "n1.node.insitu.=127.0.0.11")
			wantAddrs(t, ask("node.insitu.", dns.TypeA),
				"node.insitu.=127.0.0.11", "node.insitu.=127.0.0.13", "node.insitu.=127.0.0.14")
			wantAddrs(t, ask("thumbs.svc.insitu.", dns.TypeA),
				"thumbs.svc.insitu.=127.0.0.11", "thumbs.svc.insitu.=127.0.0.13", "thumbs.svc.insitu.=127.0.0.14")
			wantAddrs(t, ask("private-one.svc.insitu.", dns.TypeA),
				"private-one.svc.insitu.=127.0.0.11", "private-one.svc.insitu.=127.0.0.13", "private-one.svc.insitu.=127.0.0.14")
			wantAddrs(t, ask("a.zone.insitu.", dns.TypeA), "a.zone.insitu.=127.0.0.11")
			wantAddrs(t, ask("b.zone.insitu.", dns.TypeA), "b.zone.insitu.=127.0.0.13", "b.zone.insitu.=127.0.0.14")
			for _, name := range []string{"_insitu._tcp.node.insitu.", "_thumbs._tcp.svc.insitu."} {
				wantSRV(t, ask(name, dns.TypeSRV))
			}
			r := ask("insitu.", dns.TypeSOA)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeSOA {
				t.Fatalf("apex SOA: %v", r)
			}
		})
	}
}

// wantSRV checks an SRV answer: one record per up node, targeting its node
// name with its port, and the targets' addresses in the additional section.
func wantSRV(t *testing.T, r *dns.Msg) {
	t.Helper()
	name := r.Question[0].Name
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		t.Fatalf("%s: rcode %s", name, dns.RcodeToString[r.Rcode])
	}
	want := []string{"n1.node.insitu.:9001", "n3.node.insitu.:9003", "n4.node.insitu.:9004"}
	if got := srvs(r.Answer); !slices.Equal(got, want) {
		t.Fatalf("%s: SRV %v, want %v", name, got, want)
	}
	wantExtra := []string{"n1.node.insitu.=127.0.0.11", "n3.node.insitu.=127.0.0.13", "n4.node.insitu.=127.0.0.14"}
	if got := ips(r.Extra); !slices.Equal(got, wantExtra) {
		t.Fatalf("%s: additional %v, want %v", name, got, wantExtra)
	}
	for _, rr := range r.Answer {
		if rr.Header().Ttl != DefaultTTL {
			t.Fatalf("%s: ttl %d, want %d", name, rr.Header().Ttl, DefaultTTL)
		}
	}
}

// TestNegativeAnswers: unknown and down names are NXDOMAIN with the SOA,
// known names asked for a type they lack are NODATA, names outside the
// domain and other classes are REFUSED.
func TestNegativeAnswers(t *testing.T) {
	s := start(t, fixture())
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			ask := func(name string, qtype uint16) *dns.Msg { return query(t, network, s.Addr(), name, qtype) }
			for _, name := range []string{
				"n2.node.insitu.", "n5.node.insitu.", "nope.node.insitu.", "nope.svc.insitu.",
				"_nope._tcp.svc.insitu.", "x.zone.insitu.", "other.insitu.", "a.b.n1.node.insitu.",
				"_http._tcp.node.insitu.",
			} {
				wantRcode(t, ask(name, dns.TypeA), dns.RcodeNameError)
			}
			for _, q := range []struct {
				name  string
				qtype uint16
			}{
				{"n1.node.insitu.", dns.TypeAAAA}, {"node.insitu.", dns.TypeAAAA},
				{"thumbs.svc.insitu.", dns.TypeAAAA}, {"n1.node.insitu.", dns.TypeSRV},
				{"_insitu._tcp.node.insitu.", dns.TypeA}, {"c.zone.insitu.", dns.TypeA},
				{"insitu.", dns.TypeA}, {"svc.insitu.", dns.TypeA}, {"thumbs.svc.insitu.", dns.TypeTXT},
			} {
				wantRcode(t, ask(q.name, q.qtype), dns.RcodeSuccess)
			}
			for _, name := range []string{"example.com.", "insitu.example.", "n1.node.insitu.example.", "."} {
				wantRcode(t, ask(name, dns.TypeA), dns.RcodeRefused)
			}
		})
	}
}

// TestCaseInsensitive: names and node names match in any case, and the
// answer keeps the question's case.
func TestCaseInsensitive(t *testing.T) {
	s := start(t, fixture())
	wantAddrs(t, query(t, "udp", s.Addr(), "N1.NoDe.INSITU.", dns.TypeA), "N1.NoDe.INSITU.=127.0.0.11")
	wantAddrs(t, query(t, "udp", s.Addr(), "n4.node.insitu.", dns.TypeA), "n4.node.insitu.=127.0.0.14")
	wantAddrs(t, query(t, "tcp", s.Addr(), "THUMBS.svc.insitu.", dns.TypeA),
		"THUMBS.svc.insitu.=127.0.0.11", "THUMBS.svc.insitu.=127.0.0.13", "THUMBS.svc.insitu.=127.0.0.14")
	wantSRV(t, query(t, "udp", s.Addr(), "_THUMBS._TCP.SVC.insitu.", dns.TypeSRV))
}
