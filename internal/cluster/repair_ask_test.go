package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// A write that missed a target for a reason of the target's asks every
// node for a repair pass (its Asked changes, which the others see in its
// heartbeat); a superseded write, the client's own fault or a body the
// client broke does not.
func TestMissedWriteAsksForRepair(t *testing.T) {
	c := &Cluster{}
	c.view = newView(c)
	e := &Engine{c: c}
	asked := func() int64 { return c.view.repairStats().Asked }
	start := asked()
	e.missed([]error{nil, store.ErrSuperseded, store.ErrBadDigest}, nil)
	e.missed([]error{nil, errors.New("peer gone")}, errors.New("client body cut"))
	if asked() != start {
		t.Fatalf("asked for repair without a missed replica: %d -> %d", start, asked())
	}
	e.missed([]error{nil, errors.New("peer gone"), nil}, nil)
	if asked() != start+1 {
		t.Fatalf("a write that missed a replica did not ask for repair: %d -> %d", start, asked())
	}
	// the change shows in the view's ask key, which wakes every node's loop
	a := NodeStatus{NodeRecord: NodeRecord{Name: "a"}}
	b := a
	b.Repair.Asked = 1
	if askKey([]NodeStatus{a}) == askKey([]NodeStatus{b}) {
		t.Fatal("the ask key ignores Asked")
	}
}

// A heartbeat that says nothing new only renews the lease; a change of
// the repair stats, the slots, or a move of 1% of memory, or ten seconds,
// writes it.
func TestBeatDue(t *testing.T) {
	t0 := time.Now()
	last := Alive{At: t0, Usage: Usage{Slots: 4, Memory: 1000, MemoryUsed: 500, Disk: 1000, DiskUsed: 100}}
	same := last
	same.At = t0.Add(time.Second)
	same.Usage.MemoryUsed = 505 // 0.5%
	if beatDue(last, same) {
		t.Fatal("an unchanged heartbeat is written")
	}
	for name, edit := range map[string]func(*Alive){
		"repair":  func(a *Alive) { a.Repair.Asked++ },
		"slots":   func(a *Alive) { a.Usage.SlotsUsed = 1 },
		"memory":  func(a *Alive) { a.Usage.MemoryUsed = 520 },
		"disk":    func(a *Alive) { a.Usage.DiskUsed = 80 },
		"refresh": func(a *Alive) { a.At = t0.Add(beatRefresh) },
	} {
		a := same
		edit(&a)
		if !beatDue(last, a) {
			t.Errorf("%s: not written", name)
		}
	}
}
