package sandbox

import (
	"fmt"

	"github.com/tetratelabs/wazero/experimental"
)

const (
	wasmPage = 64 << 10
	// maxWasmMemory is the wasm32 ceiling: 65536 pages.
	maxWasmMemory = 4 << 30
)

// withDefaults fills zero fields from DefaultLimits and clamps memory to
// whole pages within wasm32's 4 GiB.
func (l Limits) withDefaults() Limits {
	l = DefaultLimits().Overlay(l)
	l.Memory = min(l.Memory, maxWasmMemory) / wasmPage * wasmPage
	if l.Memory < wasmPage {
		l.Memory = wasmPage
	}
	return l
}

// quotaError ends a run when the guest exceeds a byte or file quota. The
// worker's host code panics with it; wazero recovers the panic and returns
// it (wrapped) from the guest call, so the run stops at once instead of
// spinning on failed writes until its deadline.
type quotaError struct {
	what  string // "stdout", "/out bytes", ...
	limit int64
}

func (e *quotaError) Error() string {
	return fmt.Sprintf("%s quota of %d exceeded", e.what, e.limit)
}

// linearMemory backs one instance's linear memory with a Go slice and
// refuses to grow past the run's limit, so memory.grow fails (returns -1)
// instead of the worker running out of memory. It records the peak size.
type linearMemory struct {
	limit   uint64
	max     uint64 // the module's own maximum, bytes
	buf     []byte
	peak    uint64
	initial uint64 // size at instantiation
	refused bool
	spare   *[]byte // a grow past limit was refused
}

// memAllocator hands out the run's linear memories (a module has at most
// one, but the allocator tolerates more and tracks the largest).
type memAllocator struct {
	limit uint64
	mems  []*linearMemory
	// spare is a zeroed buffer kept by the worker between runs (at most
	// spareMax bytes), so small guests do not allocate memory anew.
	spare *[]byte
}

// spareMax is the largest linear memory a worker keeps for the next run.
const spareMax = 16 << 20

func (a *memAllocator) Allocate(capacity, max uint64) experimental.LinearMemory {
	m := &linearMemory{limit: a.limit, max: max, spare: a.spare}
	switch {
	case a.spare != nil && *a.spare != nil && len(*a.spare) == 0 && uint64(cap(*a.spare)) >= capacity && uint64(cap(*a.spare)) <= a.limit:
		m.buf = (*a.spare)[:0]
		*a.spare = nil
	case capacity > 0 && capacity <= a.limit:
		m.buf = make([]byte, 0, capacity)
	}
	a.mems = append(a.mems, m)
	return m
}

// setLimit sets the run's memory limit on the allocator and on the
// memories it already made (an instance made ahead of its run).
func (a *memAllocator) setLimit(limit uint64) {
	a.limit = limit
	for _, m := range a.mems {
		m.limit = limit
	}
}

func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused = true
		return nil
	}
	if m.initial == 0 {
		m.initial = size
	}
	if size > m.peak {
		m.peak = size
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	// Grow geometrically (bounded by the limit) so a guest growing page by
	// page does not copy its memory on every grow.
	c := max(size, min(2*uint64(cap(m.buf)), m.limit))
	nb := make([]byte, size, c)
	copy(nb, m.buf)
	m.buf = nb
	return m.buf
}

// Free gives the buffer back as the worker's spare when small enough,
// still dirty: its length is the bytes the run may have touched. The
// worker zeroes it (worker.scrub) after sending the result and before it
// reads the next request, and Allocate takes only a zeroed (empty) spare:
// no byte of one run is visible to the next.
func (m *linearMemory) Free() {
	if m.spare != nil && *m.spare == nil && cap(m.buf) <= spareMax {
		*m.spare = m.buf[:m.peak]
	}
	m.buf = nil
}

// peak is the largest linear memory size any instance reached, and
// whether a grow was refused or the module hit its own maximum.
func (a *memAllocator) stats() (peak int64, hitLimit bool) {
	for _, m := range a.mems {
		peak = max(peak, int64(m.peak))
		if m.refused || (m.max > 0 && m.peak >= m.max && m.max > m.initial && m.max < maxWasmMemory) {
			hitLimit = true
		}
	}
	return peak, hitLimit
}
