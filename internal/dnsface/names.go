package dnsface

import (
	"strings"

	"github.com/miekg/dns"
)

// kind is what a name inside the domain stands for.
type kind int

const (
	kindUnknown    kind = iota
	kindApex            // DOMAIN
	kindEmpty           // node., svc., zone., _tcp.node., _tcp.svc.: names with no records of their own
	kindNodes           // node.DOMAIN
	kindNode            // NODE.node.DOMAIN
	kindNodesSRV        // _insitu._tcp.node.DOMAIN
	kindService         // NAME.svc.DOMAIN
	kindServiceSRV      // _NAME._tcp.svc.DOMAIN
	kindZone            // ZONE.zone.DOMAIN
)

// lookup is a parsed query name: its kind and, for kinds that name one
// thing, that thing's name (lower case).
type lookup struct {
	kind kind
	name string
}

// parse splits qname (any case) into a lookup relative to the domain, whose
// labels are given in lower case. ok is false for a name outside the domain.
func parse(qname string, domain []string) (l lookup, ok bool) {
	labels := dns.SplitDomainName(strings.ToLower(qname))
	n := len(labels) - len(domain)
	if n < 0 {
		return lookup{}, false
	}
	for i, d := range domain {
		if labels[n+i] != d {
			return lookup{}, false
		}
	}
	return classify(labels[:n]), true
}

// classify names the kind of the labels below the domain apex.
func classify(rel []string) lookup {
	switch len(rel) {
	case 0:
		return lookup{kind: kindApex}
	case 1:
		if rel[0] == "node" {
			return lookup{kind: kindNodes}
		}
		if rel[0] == "svc" || rel[0] == "zone" {
			return lookup{kind: kindEmpty}
		}
	case 2:
		return classify2(rel[0], rel[1])
	case 3:
		if rel[1] != "_tcp" || len(rel[0]) < 2 || rel[0][0] != '_' {
			break
		}
		if rel[2] == "node" && rel[0] == "_insitu" {
			return lookup{kind: kindNodesSRV}
		}
		if rel[2] == "svc" {
			return lookup{kind: kindServiceSRV, name: rel[0][1:]}
		}
	}
	return lookup{kind: kindUnknown}
}

// classify2 names the kind of a two-label relative name "first.parent".
func classify2(first, parent string) lookup {
	if first == "_tcp" && (parent == "node" || parent == "svc") {
		return lookup{kind: kindEmpty}
	}
	switch parent {
	case "node":
		return lookup{kind: kindNode, name: first}
	case "svc":
		return lookup{kind: kindService, name: first}
	case "zone":
		return lookup{kind: kindZone, name: first}
	}
	return lookup{kind: kindUnknown}
}
