// Package dnsface is insitu's discovery face: a small authoritative DNS
// server (github.com/miekg/dns, UDP and TCP on one port) that answers A,
// AAAA and SRV records for the nodes of a cloud and for its services, the
// way Mesos-DNS and Consul do. It is off by default; a node starts it with
// `--dns HOST:PORT`.
//
// # Names
//
// DOMAIN is Config.Domain ("insitu." by default). Names are matched without
// regard to case.
//
//	NODE.node.DOMAIN          A/AAAA  the node's address, only while it is up
//	node.DOMAIN               A/AAAA  every up node
//	_insitu._tcp.node.DOMAIN  SRV     one per up node: target NODE.node.DOMAIN,
//	                                  its port; the addresses in the additional section
//	NAME.svc.DOMAIN           A/AAAA  every up node (any node answers any service)
//	_NAME._tcp.svc.DOMAIN     SRV     one per up node, as for _insitu._tcp.node
//	ZONE.zone.DOMAIN          A/AAAA  the up nodes of that zone
//	DOMAIN                    SOA     the zone's SOA
//
// SRV names follow RFC 2782 (`_SERVICE._PROTO.NAME`), with the service name
// as the SERVICE label: `_thumbs._tcp.svc.insitu.` for the service "thumbs".
// Every SRV record has priority 1 and weight 1.
//
// A node's address is an A record when it is IPv4 and an AAAA record when it
// is IPv6; asking for the other type gets NOERROR with no answers (NODATA),
// as does any other type asked of a name that exists. A node is listed only
// while it is up, has an address and its name is one DNS label; a node whose
// port is not 1..65535 has no SRV record.
//
// # Answers
//
// Sets of nodes are sorted by node name and then rotated by one position per
// query (round robin, like BIND's cyclic order), so clients that take the
// first record spread over the nodes. Answers are authoritative (AA) and
// carry Config.TTL. A node that is down or unknown, a service that does not
// exist, a zone that no known node names, and any other name inside DOMAIN
// get NXDOMAIN with the SOA in the authority section (its minimum is the
// TTL, so negative answers are cached no longer than positive ones). A name
// outside DOMAIN, or a class other than IN, gets REFUSED: the face is not a
// resolver. An opcode other than QUERY gets NOTIMP; a message without
// exactly one question gets FORMERR; a Source that fails gets SERVFAIL.
// Over UDP an answer is cut to the client's EDNS0 size (512 bytes without
// EDNS0) with the TC bit set, so the client retries over TCP.
//
// # Sources
//
// Records come from an injected Source, so this package does not import the
// cluster. Source is called on every query, concurrently, with a context
// bounded by Config.QueryTimeout; it should answer from memory (a snapshot
// kept current by watches), not from a round trip per query.
package dnsface
