package dnsface

import (
	"cmp"
	"context"
	"net"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// rrset is everything a name holds: whether it exists, its records of
// every type, and the addresses that go with its SRV records.
type rrset struct {
	exists bool
	rrs    []dns.RR
	extra  []dns.RR
}

// of returns the records of type t (all of them for ANY).
func (r rrset) of(t uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range r.rrs {
		if t == dns.TypeANY || rr.Header().Rrtype == t {
			out = append(out, rr)
		}
	}
	return out
}

// records resolves l, named qname in the query (its case is kept in the
// answers, as resolvers expect).
func (s *Server) records(ctx context.Context, l lookup, qname string) (rrset, error) {
	switch l.kind {
	case kindApex:
		return rrset{exists: true, rrs: []dns.RR{s.soa()}}, nil
	case kindEmpty:
		return rrset{exists: true}, nil
	case kindService, kindServiceSRV:
		ok, err := s.serviceExists(ctx, l.name)
		if err != nil || !ok {
			return rrset{}, err
		}
	}
	nodes, err := s.cfg.Source.Nodes(ctx)
	if err != nil {
		return rrset{}, err
	}
	switch l.kind {
	case kindNode:
		return s.addresses(qname, s.up(nodes, func(n NodeInfo) bool { return strings.EqualFold(n.Name, l.name) }), false), nil
	case kindZone:
		known := slices.ContainsFunc(nodes, func(n NodeInfo) bool { return strings.EqualFold(n.Zone, l.name) })
		return s.addresses(qname, s.up(nodes, func(n NodeInfo) bool { return strings.EqualFold(n.Zone, l.name) }), known), nil
	case kindNodes, kindService:
		return s.addresses(qname, s.up(nodes, nil), true), nil
	case kindNodesSRV, kindServiceSRV:
		return s.services(qname, s.up(nodes, nil)), nil
	}
	return rrset{}, nil
}

// serviceExists reports whether the Source knows the service name.
func (s *Server) serviceExists(ctx context.Context, name string) (bool, error) {
	names, err := s.cfg.Source.Services(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) }), nil
}

// up returns the listable nodes that match keep (all when nil): up, with an
// address (IPv4 or IPv6) and a one-label name; sorted by name, then rotated one step per
// call so that answers go round robin.
func (s *Server) up(nodes []NodeInfo, keep func(NodeInfo) bool) []NodeInfo {
	var out []NodeInfo
	for _, n := range nodes {
		if n.Up && validIP(n.IP) && validLabel(n.Name) && (keep == nil || keep(n)) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	if len(out) > 1 {
		k := int(s.turn.Add(1) % uint64(len(out)))
		out = append(out[k:], out[:k]...)
	}
	return out
}

// addresses is the rrset of a name whose records are the nodes' addresses;
// the name exists when it has a node or when known says so.
func (s *Server) addresses(name string, nodes []NodeInfo, known bool) rrset {
	set := rrset{exists: known || len(nodes) > 0}
	for _, n := range nodes {
		set.rrs = append(set.rrs, s.address(name, n.IP))
	}
	return set
}

// services is the rrset of an SRV name: one SRV per node with a valid port,
// targeting NODE.node.DOMAIN, and those targets' addresses as extra.
func (s *Server) services(name string, nodes []NodeInfo) rrset {
	set := rrset{exists: true}
	for _, n := range nodes {
		if n.Port < 1 || n.Port > 65535 {
			continue
		}
		target := strings.ToLower(n.Name) + ".node." + s.cfg.Domain
		set.rrs = append(set.rrs, &dns.SRV{
			Hdr:      s.header(name, dns.TypeSRV),
			Priority: 1, Weight: 1, Port: uint16(n.Port), Target: target,
		})
		set.extra = append(set.extra, s.address(target, n.IP))
	}
	return set
}

// address is an A record for an IPv4 ip, AAAA for IPv6.
func (s *Server) address(name string, ip net.IP) dns.RR {
	if v4 := ip.To4(); v4 != nil {
		return &dns.A{Hdr: s.header(name, dns.TypeA), A: v4}
	}
	return &dns.AAAA{Hdr: s.header(name, dns.TypeAAAA), AAAA: ip}
}

// soa is the zone's SOA; its minimum (the negative-caching TTL) is the TTL.
func (s *Server) soa() dns.RR {
	d := s.cfg.Domain
	return &dns.SOA{
		Hdr: s.header(d, dns.TypeSOA),
		Ns:  "ns." + d, Mbox: "hostmaster." + d,
		Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: s.cfg.TTL,
	}
}

// header is the RR header of an IN record of type t at name.
func (s *Server) header(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: s.cfg.TTL}
}

// validIP reports whether ip is an IPv4 or IPv6 address.
func validIP(ip net.IP) bool {
	return ip.To4() != nil || len(ip) == net.IPv6len
}

// validLabel reports whether name is one DNS label of letters, digits,
// hyphens and underscores.
func validLabel(name string) bool {
	if name == "" || len(name) > 63 {
		return false
	}
	for _, c := range []byte(name) {
		ok := c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}
