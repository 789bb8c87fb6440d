package app

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/internal/cluster"
	"github.com/insitu-cloud/insitu/internal/dnsface"
	"github.com/insitu-cloud/insitu/internal/meta"
)

// startDNS starts the discovery face when cfg.DNS is set.
func (n *Node) startDNS(ctx context.Context) error {
	if n.cfg.DNS == "" {
		return nil
	}
	s, err := dnsface.New(dnsface.Config{Addr: n.cfg.DNS, Domain: n.cfg.DNSDomain, Source: dnsSource{n}, Logger: n.log.With("component", "dns")})
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	n.dns = s
	n.log.Info("DNS face serving", "addr", s.Addr())
	return nil
}

// DNSAddr is the address the DNS face listens on ("" when off).
func (n *Node) DNSAddr() string {
	if n.dns == nil {
		return ""
	}
	return n.dns.Addr()
}

// dnsSource answers the DNS face from the membership view (kept in
// memory) and the service names in the control plane.
type dnsSource struct{ n *Node }

func (d dnsSource) Nodes(ctx context.Context) ([]dnsface.NodeInfo, error) {
	if d.n.cluster == nil {
		return []dnsface.NodeInfo{nodeInfo("local", "", d.n.Endpoint(), true)}, nil
	}
	var out []dnsface.NodeInfo
	for _, s := range d.n.cluster.Nodes() {
		out = append(out, nodeInfo(s.Name, s.Zone, s.Endpoint, s.State == cluster.StateUp))
	}
	return out, nil
}

// nodeInfo turns a node's endpoint URL into its DNS record.
func nodeInfo(name, zone, endpoint string, up bool) dnsface.NodeInfo {
	hostport := endpoint[strings.Index(endpoint, "://")+3:]
	host, port, _ := net.SplitHostPort(hostport)
	p, _ := strconv.Atoi(port)
	return dnsface.NodeInfo{Name: name, Zone: zone, IP: net.ParseIP(host), Port: p, Up: up}
}

func (d dnsSource) Services(ctx context.Context) ([]string, error) {
	pairs, err := d.n.kv.ListPage(ctx, "services/", meta.Page{KeysOnly: true, Limit: 10000})
	names := make([]string, len(pairs))
	for i, p := range pairs {
		names[i] = strings.TrimPrefix(p.Key, "services/")
	}
	return names, err
}
