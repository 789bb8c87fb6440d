package instances

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"

	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/meta"
)

func openKV(t *testing.T) meta.Store {
	t.Helper()
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "kv"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	return kv
}

// TestPoolAllocate: two pools on one store (two nodes sharing a control
// plane) hand out every usable address of a small network exactly once,
// concurrently, then report it full; a released address comes back.
func TestPoolAllocate(t *testing.T) {
	ctx := context.Background()
	kv := openKV(t)
	net := netip.MustParsePrefix("10.9.0.0/26") // 64 addresses, the first 16 reserved
	a, b := pool{kv: kv, net: net}, pool{kv: kv, net: net}
	var mu sync.Mutex
	got := map[string]string{}
	var wg sync.WaitGroup
	for i := range 60 {
		p := a
		if i%2 == 1 {
			p = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := newID("i-")
			ip, err := p.allocate(ctx, id)
			if err == errPoolFull {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := got[ip]; dup {
				t.Errorf("%s given to %s and %s", ip, other, id)
			}
			got[ip] = id
		}()
	}
	wg.Wait()
	if len(got) != 48 {
		t.Fatalf("allocated %d addresses, want 48", len(got))
	}
	for ip := range got {
		ad := netip.MustParseAddr(ip)
		if !net.Contains(ad) || ad.As4()[3] < 16 {
			t.Fatalf("address %s outside the usable pool", ip)
		}
	}
	if _, err := a.allocate(ctx, "i-x"); err != errPoolFull {
		t.Fatalf("full pool: %v", err)
	}
	var ip, id string
	for ip, id = range got {
		break
	}
	if err := a.release(ctx, ip, "i-someone-else"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.allocate(ctx, "i-x"); err != errPoolFull {
		t.Fatal("a release by another instance freed the address")
	}
	if err := a.release(ctx, ip, id); err != nil {
		t.Fatal(err)
	}
	if again, err := b.allocate(ctx, "i-y"); err != nil || again != ip {
		t.Fatalf("after release: %s %v, want %s", again, err, ip)
	}
}

// TestPoolSkipsZeroAnd255: in a /16, addresses ending .0 or .255 are
// never handed out.
func TestPoolSkipsZeroAnd255(t *testing.T) {
	p := pool{net: DefaultNet}
	for i := range p.size() {
		a := p.nth(i)
		if last := a.As4()[3]; p.usable(i, a) && (last == 0 || last == 255 || i < reservedLow) {
			t.Fatalf("%s usable", a)
		}
	}
	if p.nth(p.size()-1) != netip.MustParseAddr("127.100.255.255") {
		t.Fatal(p.nth(p.size() - 1))
	}
}

// TestRulePorts: which TCP ports a rule forwards.
func TestRulePorts(t *testing.T) {
	cases := []struct {
		r    ec2api.Rule
		want []int
	}{
		{ec2api.Rule{Protocol: "tcp", FromPort: 80, ToPort: 80}, []int{80}},
		{ec2api.Rule{Protocol: "tcp", FromPort: 8000, ToPort: 8002}, []int{8000, 8001, 8002}},
		{ec2api.Rule{Protocol: "udp", FromPort: 53, ToPort: 53}, nil},
		{ec2api.Rule{Protocol: "icmp", FromPort: -1, ToPort: -1}, nil},
	}
	for _, c := range cases {
		if got := rulePorts(c.r); !intsEqual(got, c.want) {
			t.Errorf("%+v: %v want %v", c.r, got, c.want)
		}
	}
	for _, r := range []ec2api.Rule{{Protocol: "-1", FromPort: -1, ToPort: -1}, {Protocol: "tcp", FromPort: 0, ToPort: 65535}} {
		got := rulePorts(r)
		if len(got) != maxPortsPerRule || got[0] != 22 || got[1] != 80 || got[2] != 443 || got[3] != 8080 || got[4] != 1 {
			t.Errorf("%+v: %v", r, got)
		}
		seen := map[int]bool{}
		for _, p := range got {
			if seen[p] {
				t.Errorf("%+v: port %d twice", r, p)
			}
			seen[p] = true
		}
	}
}

func intsEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTransitionConcurrent: of many concurrent moves out of one state,
// exactly one happens (compare-and-swap).
func TestTransitionConcurrent(t *testing.T) {
	ctx := context.Background()
	kv := openKV(t)
	r := Record{ID: newID("i-"), Account: "a", State: Running}
	if err := createRecord(ctx, kv, &r); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	moved := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := transition(ctx, kv, "a", r.ID, Stopping, "", "", Running)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				moved++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	got, _, err := getRecord(ctx, kv, "a", r.ID)
	if err != nil || moved != 1 || got.State != Stopping {
		t.Fatalf("moved %d times, state %s, %v", moved, got.State, err)
	}
}

func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{"i-0123456789abcdef0": true, "i-01234567": true, "i-0123456789ABCDEF0": false,
		"i-012345678": false, "r-0123456789abcdef0": false, "": false, "i-": false} {
		if validID(id) != ok {
			t.Errorf("validID(%q) = %v", id, !ok)
		}
	}
}

// TestAdmits: on a loopback pool only rules that can hold a loopback
// caller count; on a routable pool every well-formed rule does.
func TestAdmits(t *testing.T) {
	routable := netip.MustParsePrefix("10.20.0.0/16")
	cases := []struct {
		pool netip.Prefix
		cidr string
		want bool
	}{
		{DefaultNet, "0.0.0.0/0", true},
		{DefaultNet, "127.0.0.1/32", true},
		{DefaultNet, "120.0.0.0/5", true},
		{DefaultNet, "203.0.113.0/24", false},
		{DefaultNet, "10.0.0.0/8", false},
		{DefaultNet, "garbage", false},
		{routable, "203.0.113.0/24", true},
		{routable, "0.0.0.0/0", true},
		{routable, "garbage", false},
	}
	for _, c := range cases {
		if got := admits(c.pool, c.cidr); got != c.want {
			t.Errorf("admits(%s, %s) = %v, want %v", c.pool, c.cidr, got, c.want)
		}
	}
}
