package instances

import (
	"context"
	"strconv"

	"github.com/insitu-cloud/insitu/internal/scheduler"
)

// Peer is one node of the cluster as placement and forwarding see it.
type Peer struct {
	Name, Zone string
	// Up is false for a node that is down or draining (placed on never;
	// a down node's instances are reported as impaired).
	Up bool
	// Down is true when the node's lease lapsed.
	Down bool
	// MemoryMiB is the memory the node gives instances (its RAM).
	MemoryMiB int
}

// Cluster is the rest of the cloud, for a node that is not alone.
type Cluster interface {
	// Peers lists every known node, this one included.
	Peers() []Peer
	// Call sends a signed JSON request to node's internal API and
	// decodes its JSON answer into out.
	Call(ctx context.Context, node, method, path string, in, out any) error
}

// target is where one instance goes.
type target struct{ node, zone string }

// place chooses nodes for up to n instances of memMiB each, in zone (""
// for any): the up nodes (alone: this one), each with its memory less
// what its instances that are not stopped hold, through scheduler.Place.
// It returns as many targets as fit.
func (m *Manager) place(ctx context.Context, zone string, n, memMiB int) ([]target, error) {
	peers := m.peers()
	recs, err := listRecords(ctx, m.kv, recordsPrefix)
	if err != nil {
		return nil, err
	}
	used := map[string]int{}
	for _, r := range recs {
		if r.active() {
			used[r.Node] += r.MemoryMiB
		}
	}
	var snap scheduler.Snapshot
	zones := map[string]string{}
	for _, p := range peers {
		if !p.Up || (zone != "" && p.Zone != zone) {
			continue
		}
		free := int64(p.MemoryMiB-used[p.Name]) << 20
		if free <= 0 {
			continue
		}
		zones[p.Name] = p.Zone
		snap.Nodes = append(snap.Nodes, scheduler.Node{ID: p.Name, Zone: p.Zone, FreeSlots: n, FreeMemory: free})
	}
	snap.Now = m.cfg.Now()
	tasks := make([]scheduler.Task, n)
	for i := range tasks {
		tasks[i] = scheduler.Task{ID: strconv.Itoa(i), Memory: int64(memMiB) << 20}
	}
	var out []target
	for _, a := range scheduler.Place(snap, tasks).Assignments {
		out = append(out, target{node: a.Node, zone: zones[a.Node]})
	}
	return out, nil
}

// peers is the cluster's nodes, or this node alone.
func (m *Manager) peers() []Peer {
	if m.cfg.Cluster != nil {
		return m.cfg.Cluster.Peers()
	}
	return []Peer{{Name: m.cfg.Node, Zone: m.cfg.Zone, Up: true, MemoryMiB: m.cfg.MemoryMiB}}
}

// nodeDown reports whether node is known to be down (never alone).
func (m *Manager) nodeDown(node string) bool {
	if m.cfg.Cluster == nil {
		return false
	}
	for _, p := range m.cfg.Cluster.Peers() {
		if p.Name == node {
			return p.Down
		}
	}
	return true
}
