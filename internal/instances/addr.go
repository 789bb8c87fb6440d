package instances

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// DefaultNet is the address pool of instances: loopback addresses, so an
// instance's forwarded ports are reachable from this machine only.
var DefaultNet = netip.MustParsePrefix("127.100.0.0/16")

// addrPrefix holds one key per address in use, valued with the instance
// id: ec2/addr/IP. Allocation is a compare-and-swap creating the key, so
// nodes sharing a control plane (and a machine) never collide.
const addrPrefix = "ec2/addr/"

// reservedLow is how many addresses at the start of the pool are never
// handed out (the network address and a few for the operator).
const reservedLow = 16

// pool allocates instance addresses from a prefix. It keeps no state of
// its own (everything is in meta) and is safe for concurrent use.
type pool struct {
	kv  meta.Store
	net netip.Prefix
}

// usable reports whether the pool's i-th address a is handed out: past
// the reserved start (a quarter of a pool smaller than 64 addresses) and
// not ending in .0 or .255.
func (p pool) usable(i int, a netip.Addr) bool {
	b := a.As4()
	return i >= min(reservedLow, p.size()/4) && b[3] != 0 && b[3] != 255
}

// size is the number of addresses in the pool (capped at 1<<16).
func (p pool) size() int {
	bits := 32 - p.net.Bits()
	if bits > 16 {
		bits = 16
	}
	return 1 << bits
}

// nth returns the pool's i-th address.
func (p pool) nth(i int) netip.Addr {
	b := p.net.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// errPoolFull is returned when every address is taken.
var errPoolFull = errors.New("instances: the instance address pool is exhausted")

// allocate takes a free address for instance id: it starts at a random
// place in the pool and probes forward, creating ec2/addr/IP.
func (p pool) allocate(ctx context.Context, id string) (string, error) {
	n := p.size()
	start := rand.IntN(n)
	for i := range n {
		a := p.nth((start + i) % n)
		if !p.usable((start+i)%n, a) {
			continue
		}
		err := p.kv.CompareAndSwap(ctx, addrPrefix+a.String(), nil, []byte(id))
		if err == nil {
			return a.String(), nil
		}
		if !errors.Is(err, meta.ErrConflict) {
			return "", fmt.Errorf("instances: allocate address: %w", err)
		}
	}
	return "", errPoolFull
}

// release frees ip if instance id holds it.
func (p pool) release(ctx context.Context, ip, id string) error {
	if ip == "" {
		return nil
	}
	err := p.kv.CompareAndSwap(ctx, addrPrefix+ip, []byte(id), nil)
	if errors.Is(err, meta.ErrConflict) || errors.Is(err, meta.ErrNotFound) {
		return nil // held by another or already free
	}
	return err
}
