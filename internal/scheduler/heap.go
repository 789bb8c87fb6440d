package scheduler

// The heap of an index: x.heap holds entry numbers, lightest at 0, and
// each entry's pos is its place in it.

func (x *index) swap(p, q int) {
	x.heap[p], x.heap[q] = x.heap[q], x.heap[p]
	x.entries[x.heap[p]].pos, x.entries[x.heap[q]].pos = p, q
}

func (x *index) down(p int) {
	for n := len(x.heap); ; {
		c := 2*p + 1
		if c >= n {
			return
		}
		if c+1 < n && x.lighterAt(x.heap[c+1], x.heap[c]) {
			c++
		}
		if !x.lighterAt(x.heap[c], x.heap[p]) {
			return
		}
		x.swap(p, c)
		p = c
	}
}

func (x *index) up(p int) {
	for p > 0 {
		q := (p - 1) / 2
		if !x.lighterAt(x.heap[p], x.heap[q]) {
			return
		}
		x.swap(p, q)
		p = q
	}
}

// lightest is the lightest node with free slots that fits a task needing
// need bytes, or -1. The heap's top fits unless it is short of memory;
// then the heap is walked best first (a node's children are never lighter
// than it, so nodes come out lightest first) for up to searchMax nodes,
// then scanned whole.
func (x *index) lightest(need int64) int {
	if len(x.heap) == 0 {
		return -1
	}
	if top := x.heap[0]; x.fitsAt(top, need) {
		return top
	}
	f := append(x.frontier[:0], 0) // heap positions, a min-heap by lightness
	defer func() { x.frontier = f[:0] }()
	for range searchMax {
		if len(f) == 0 {
			return -1
		}
		var p int
		p, f = x.popFrontier(f)
		if i := x.heap[p]; x.fitsAt(i, need) {
			return i
		}
		for c := 2*p + 1; c <= 2*p+2 && c < len(x.heap); c++ {
			f = x.pushFrontier(f, c)
		}
	}
	best := -1
	for _, i := range x.heap {
		if x.fitsAt(i, need) && (best < 0 || x.lighterAt(i, best)) {
			best = i
		}
	}
	return best
}

// pushFrontier adds heap position c to the frontier f.
func (x *index) pushFrontier(f []int, c int) []int {
	f = append(f, c)
	for k := len(f) - 1; k > 0; {
		q := (k - 1) / 2
		if !x.lighterAt(x.heap[f[k]], x.heap[f[q]]) {
			break
		}
		f[k], f[q] = f[q], f[k]
		k = q
	}
	return f
}

// popFrontier removes the lightest position from f.
func (x *index) popFrontier(f []int) (int, []int) {
	top, last := f[0], len(f)-1
	f[0] = f[last]
	f = f[:last]
	for k := 0; ; {
		c := 2*k + 1
		if c >= len(f) {
			break
		}
		if c+1 < len(f) && x.lighterAt(x.heap[f[c+1]], x.heap[f[c]]) {
			c++
		}
		if !x.lighterAt(x.heap[f[c]], x.heap[f[k]]) {
			break
		}
		f[k], f[c] = f[c], f[k]
		k = c
	}
	return top, f
}
