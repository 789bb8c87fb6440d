package sandbox

import (
	"fmt"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
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
//
// A memory of at most spareMax bytes lives on the Go heap and may come
// back as the worker's spare. A larger one is mapped from the kernel
// (anonymous, zero on first touch), grown with mremap and unmapped when
// the instance closes: a big guest's memory leaves the worker with it,
// instead of waiting as garbage for the Go collector, so the worker's
// heap holds only small things and its GC pacing (worker.go) does not
// multiply a guest's size.
type linearMemory struct {
	limit   uint64
	max     uint64 // the module's own maximum, bytes
	buf     []byte
	mapping []byte // the whole kernel mapping buf lies in, or nil (heap)
	peak    uint64
	initial uint64 // size at instantiation
	refused bool   // a grow past limit (or past the kernel's memory) was refused
	spare   *[]byte
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
		// Refused by the kernel: buf stays empty and the first
		// Reallocate tries again (and fails the instantiation).
		_ = m.reserve(capacity)
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
	// page does not copy or remap its memory on every grow.
	if !m.reserve(max(size, min(2*uint64(cap(m.buf)), m.limit))) {
		m.refused = true
		return nil
	}
	m.buf = m.buf[:size]
	return m.buf
}

// reserve gives buf a capacity of c bytes, keeping its contents: on the
// heap up to spareMax, else in a kernel mapping (moved by mremap, which
// copies no bytes). It reports false when the kernel refuses the memory.
func (m *linearMemory) reserve(c uint64) bool {
	if c <= spareMax && m.mapping == nil {
		nb := make([]byte, len(m.buf), c)
		copy(nb, m.buf)
		m.buf = nb
		return true
	}
	var mapping []byte
	var err error
	if m.mapping != nil {
		mapping, err = unix.Mremap(m.mapping, int(c), unix.MREMAP_MAYMOVE)
	} else {
		mapping, err = unix.Mmap(-1, 0, int(c), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err == nil {
			copy(mapping, m.buf)
		}
	}
	if err != nil {
		return false
	}
	m.mapping, m.buf = mapping, mapping[:len(m.buf)]
	return true
}

// Free gives the buffer back as the worker's spare when small enough,
// still dirty: its length is the bytes the run may have touched. The
// worker zeroes it (worker.scrub) after sending the result and before it
// reads the next request, and Allocate takes only a zeroed (empty) spare:
// no byte of one run is visible to the next.
func (m *linearMemory) Free() {
	switch {
	case m.mapping != nil:
		_ = unix.Munmap(m.mapping) // fails only for a bad address
		m.mapping = nil
	case m.spare != nil && *m.spare == nil && cap(m.buf) <= spareMax:
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
