package cluster

import (
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestNewestKeepsPlacementOrder: the holders of the newest copy come back
// in placement order, so every node reads a key from the same (primary)
// holder and the object is cached once, not once per replica.
func TestNewestKeepsPlacementOrder(t *testing.T) {
	node := func(name string) NodeStatus { return NodeStatus{NodeRecord: NodeRecord{Name: name}} }
	old := store.ObjectInfo{Stamp: store.Stamp{HLC: 1, Node: "a"}}
	cur := store.ObjectInfo{Stamp: store.Stamp{HLC: 2, Node: "b"}}
	hs := []holding{
		{node: node("n2"), info: old, ok: true, answered: true},
		{node: node("n0"), info: cur, ok: true, answered: true},
		{node: node("n3"), answered: true},
		{node: node("n1"), info: cur, ok: true, answered: true},
	}
	best, holders := newest(hs)
	if best.Stamp != cur.Stamp {
		t.Fatalf("newest %v, want %v", best.Stamp, cur.Stamp)
	}
	if len(holders) != 2 || holders[0].Name != "n0" || holders[1].Name != "n1" {
		t.Fatalf("holders %v, want n0 then n1 (placement order)", holders)
	}
}
