package instances

import (
	"context"
	"net/netip"
	"slices"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// maxPortsPerRule caps the ports one rule forwards: a range wider than
// this forwards its first maxPortsPerRule ports (a slirp hostfwd is one
// listening socket per port, so "all ports" cannot be forwarded).
const maxPortsPerRule = 64

// forwards computes the forwards an instance's groups allow now: one per
// TCP port of every tcp or all-protocol rule, from the instance's own
// address to the same port in the guest, sorted, without duplicates. A
// group that no longer exists allows nothing. A rule counts only when its
// CIDR can hold a caller: with the pool on loopback (the default), every
// connection comes from 127.0.0.0/8, and a rule for other sources (an
// office's 203.0.113.0/24) opens nothing, as on EC2 for a caller outside
// it. Within the possible sources nothing is filtered (slirp's forwards
// cannot): a rule for 127.0.0.5/32 opens the port to every local caller,
// and with a routable pool (--instance-net) every rule counts.
func (m *Manager) forwards(ctx context.Context, r Record) ([]Forward, error) {
	seen := map[int]bool{}
	for _, g := range r.Groups {
		rules, err := m.cfg.Face.IngressRules(ctx, r.Account, g)
		if ec2api.IsCode(err, "InvalidGroup.NotFound") {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, rule := range rules {
			if !admits(m.cfg.Net, rule.CIDR) {
				continue
			}
			for _, p := range rulePorts(rule) {
				seen[p] = true
			}
		}
	}
	out := make([]Forward, 0, len(seen))
	for p := range seen {
		out = append(out, Forward{HostIP: r.IP, HostPort: p, GuestPort: p})
	}
	slices.SortFunc(out, func(a, b Forward) int { return a.HostPort - b.HostPort })
	return out, nil
}

// loopbackSources is where every connection to an instance comes from.
var loopbackSources = netip.MustParsePrefix("127.0.0.0/8")

// admits reports whether a rule's CIDR can hold a caller of an address
// in pool: any CIDR when pool is routable, one overlapping 127.0.0.0/8
// when pool is on loopback. A malformed CIDR (the API refuses them)
// admits none.
func admits(pool netip.Prefix, cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	return !loopbackSources.Overlaps(pool) || p.Overlaps(loopbackSources)
}

// wellKnown are the ports a range wider than maxPortsPerRule forwards
// first (then its lowest ports, up to the cap).
var wellKnown = []int{22, 80, 443, 8080}

// rulePorts lists the TCP ports a rule opens, at most maxPortsPerRule:
// every port of a narrow range; of a wider one (all traffic counts as
// 1-65535), the well-known ports it holds, then its lowest ones.
func rulePorts(rule ec2api.Rule) []int {
	from, to := rule.FromPort, rule.ToPort
	switch {
	case rule.Protocol == "-1" && from <= 0 && to <= 0:
		from, to = 1, 65535
	case rule.Protocol != "tcp" && rule.Protocol != "-1":
		return nil
	}
	from, to = max(from, 1), min(to, 65535)
	var out []int
	if to-from+1 > maxPortsPerRule {
		for _, p := range wellKnown {
			if from <= p && p <= to {
				out = append(out, p)
			}
		}
	}
	for p := from; p <= to && len(out) < maxPortsPerRule; p++ {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// syncForwards makes the running machine's forwards equal what its
// groups allow now. l.mu is held.
func (m *Manager) syncForwards(ctx context.Context, l *local, r Record) error {
	want, err := m.forwards(ctx, r)
	if err != nil {
		return err
	}
	if l.fwOK && slices.Equal(want, l.fw) {
		return nil
	}
	if err := l.m.SetForwards(ctx, want); err != nil {
		return err
	}
	m.log.Info("instance: forwards changed", "instance", r.ID, "ports", len(want))
	l.fw, l.fwOK = want, true
	return nil
}
