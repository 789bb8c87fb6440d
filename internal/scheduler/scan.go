package scheduler

// placeByScan places a few tasks with one pass over the snapshot per task
// and no index. ok is false when the node it would choose has an id listed
// earlier in the snapshot (a duplicate, which only the index resolves).
func placeByScan(snap Snapshot, tasks []Task) (Plan, bool) {
	s := scanner{nodes: snap.Nodes}
	plan := Plan{Assignments: make([]Assignment, 0, len(tasks))}
	for k, t := range tasks {
		i, local, ok := s.choose(t)
		if !ok {
			return Plan{}, false
		}
		if i < 0 {
			plan.Unplaced = append(plan.Unplaced, t.ID)
			continue
		}
		if k < len(tasks)-1 {
			s.take(i, t.Memory)
		}
		plan.Assignments = append(plan.Assignments, Assignment{Task: t.ID, Node: snap.Nodes[i].ID, Local: local})
	}
	return plan, true
}

// scanner is the state of one placeByScan call: the snapshot, read only,
// and what this call has booked on it.
type scanner struct {
	nodes  []Node
	marked []uint64 // bit i: entry i has a booking
	booked []booking
}

// booking is what an entry has left after this call's tasks on it.
type booking struct {
	i     int
	slots int
	mem   int64
}

// state is what entry i has left.
func (s *scanner) state(i int) (int, int64) {
	if s.marked != nil && s.marked[i>>6]&(1<<(i&63)) != 0 {
		for _, b := range s.booked {
			if b.i == i {
				return b.slots, b.mem
			}
		}
	}
	return s.nodes[i].FreeSlots, s.nodes[i].FreeMemory
}

// take books a task needing need bytes on entry i.
func (s *scanner) take(i int, need int64) {
	if s.marked == nil {
		s.marked = make([]uint64, (len(s.nodes)+63)/64)
	}
	slots, mem := s.state(i)
	slots, mem = book(slots, mem, need)
	for k := range s.booked {
		if s.booked[k].i == i {
			s.booked[k].slots, s.booked[k].mem = slots, mem
			return
		}
	}
	s.marked[i>>6] |= 1 << (i & 63)
	s.booked = append(s.booked, booking{i, slots, mem})
}

// choose finds the node for t: the lightest live holder that fits, else
// the lightest live node that fits (-1: none). A holder counts at its
// first live entry only. ok is false when the answer is not a holder and
// its id has a live entry earlier in the snapshot, or when t lists more
// than 64 holders.
func (s *scanner) choose(t Task) (idx int, local, ok bool) {
	if len(t.Holders) > 64 {
		return -1, false, false
	}
	if i := s.nearest(t); i >= 0 {
		return i, true, true
	}
	best := -1
	bSlots := 1 // free slots of the best so far; a node needs one
	var bMem int64
	for i := range s.nodes {
		// Fewer free slots than the best is never lighter, and bookings
		// only lower a node's slots: most nodes stop at this test.
		n := &s.nodes[i]
		if n.FreeSlots < bSlots || !live(n) {
			continue
		}
		slots, mem := s.state(i)
		if fits(slots, mem, t.Memory) && (best < 0 || lighter(slots, mem, n.ID, bSlots, bMem, s.nodes[best].ID)) {
			best, bSlots, bMem = i, slots, mem
		}
	}
	return best, false, best < 0 || !s.listedBefore(best)
}

// nearest is the lightest of t's holders that fits, found by one pass that
// stops once every holder is met at its first live entry; -1: none.
func (s *scanner) nearest(t Task) int {
	all := uint64(1)<<len(t.Holders) - 1 // a bit per holder
	var seen uint64                      // holders met
	var sieve idSieve
	for _, h := range t.Holders {
		sieve.add(h)
	}
	best := -1
	var bSlots int
	var bMem int64
	for i := 0; i < len(s.nodes) && seen != all; i++ {
		n := &s.nodes[i]
		if !sieve.mayHold(n.ID) || !live(n) {
			continue
		}
		met := false
		for j, h := range t.Holders {
			if seen&(1<<j) == 0 && h == n.ID {
				seen, met = seen|1<<j, true
			}
		}
		if !met {
			continue
		}
		slots, mem := s.state(i)
		if fits(slots, mem, t.Memory) && (best < 0 || lighter(slots, mem, n.ID, bSlots, bMem, s.nodes[best].ID)) {
			best, bSlots, bMem = i, slots, mem
		}
	}
	return best
}

// idSieve is a 1,024-bit filter of a few ids by their length and last two
// bytes: most ids it does not hold are told apart without a string compare.
type idSieve [16]uint64

func sieveBit(id string) uint {
	k := uint(len(id))
	if len(id) > 0 {
		k += uint(id[len(id)-1]) * 131
	}
	if len(id) > 1 {
		k += uint(id[len(id)-2]) * 7
	}
	return k & 1023
}

func (f *idSieve) add(id string) { b := sieveBit(id); f[b>>6] |= 1 << (b & 63) }

// mayHold is false when id was never added.
func (f *idSieve) mayHold(id string) bool { b := sieveBit(id); return f[b>>6]&(1<<(b&63)) != 0 }

// listedBefore reports whether entry i's id has a live entry before i.
func (s *scanner) listedBefore(i int) bool {
	id := s.nodes[i].ID
	for j := range i {
		// The last byte first, as in idSieve: a full compare is a call.
		if n := &s.nodes[j]; len(n.ID) == len(id) && (len(id) == 0 || n.ID[len(id)-1] == id[len(id)-1]) && n.ID == id && live(n) {
			return true
		}
	}
	return false
}
