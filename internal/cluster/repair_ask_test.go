package cluster

import (
	"errors"
	"testing"

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
