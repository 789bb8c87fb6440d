package dnsface

import (
	"context"
	"net"

	"github.com/miekg/dns"
)

// ServeDNS answers one query; it implements dns.Handler. See the package
// doc for the names and the answers.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	ctx, cancel := context.WithTimeout(s.base, s.cfg.QueryTimeout)
	defer cancel()
	m := s.answer(ctx, r)
	fit(m, r, isTCP(w))
	if err := w.WriteMsg(m); err != nil {
		s.log.DebugContext(ctx, "dns write failed", "err", err)
	}
}

// answer builds the reply to r, without size limits.
func (s *Server) answer(ctx context.Context, r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	switch {
	case r.Opcode != dns.OpcodeQuery:
		return m.SetRcode(r, dns.RcodeNotImplemented)
	case len(r.Question) != 1:
		return m.SetRcode(r, dns.RcodeFormatError)
	}
	q := r.Question[0]
	l, ok := parse(q.Name, s.labels)
	if !ok || (q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY) {
		return m.SetRcode(r, dns.RcodeRefused)
	}
	m.Authoritative = true
	set, err := s.records(ctx, l, q.Name)
	if err != nil {
		s.log.WarnContext(ctx, "dns source failed", "name", q.Name, "err", err)
		m.Authoritative = false
		return m.SetRcode(r, dns.RcodeServerFailure)
	}
	if !set.exists {
		m.Ns = []dns.RR{s.soa()}
		return m.SetRcode(r, dns.RcodeNameError)
	}
	m.Answer = set.of(q.Qtype)
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{s.soa()}
	} else if hasSRV(m.Answer) {
		m.Extra = set.extra
	}
	return m
}

// maxUDP caps the size of a UDP answer whatever the client's EDNS0 size,
// so a spoofed query cannot draw a large reflection.
const maxUDP = 4096

// fit adds an OPT record when the query had one and cuts the reply to the
// size the client takes (its EDNS0 size up to 4096 bytes, 512 without EDNS0,
// 64 KiB over TCP), setting TC when records were dropped.
func fit(m, r *dns.Msg, tcp bool) {
	size := dns.MinMsgSize
	if opt := r.IsEdns0(); opt != nil {
		size = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDP)
		m.SetEdns0(maxUDP, false)
	}
	if tcp {
		size = dns.MaxMsgSize
	}
	m.Truncate(size)
}

// isTCP reports whether w answers over TCP.
func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.LocalAddr().(*net.TCPAddr)
	return ok
}

// hasSRV reports whether rrs holds an SRV record.
func hasSRV(rrs []dns.RR) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeSRV {
			return true
		}
	}
	return false
}
