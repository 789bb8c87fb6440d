package cluster

import (
	"sync"
	"time"
)

// logicalBits is the width of the logical counter in a clock reading.
const logicalBits = 16

// Clock is a hybrid logical clock (Kulkarni et al.): readings are
// physical milliseconds << 16 | a logical counter, never go backwards, and
// move past every reading it has observed. Safe for concurrent use.
//
// When the physical clock stalls or goes backwards, readings advance the
// logical counter; more than 65,535 readings within one millisecond carry
// into the millisecond part, which stays monotonic and is caught up by the
// physical clock later.
type Clock struct {
	now  func() time.Time
	mu   sync.Mutex
	last uint64 // the greatest reading issued or observed
}

// NewClock returns a clock reading now (time.Now when nil).
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a new reading, strictly greater than every earlier reading
// and every observed one.
func (c *Clock) Now() uint64 {
	pt := physical(c.now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if pt > c.last {
		c.last = pt
	} else {
		c.last++
	}
	return c.last
}

// Observe moves the clock past a reading received from another node: the
// next Now is greater than hlc.
func (c *Clock) Observe(hlc uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hlc > c.last {
		c.last = hlc
	}
}

// HLCTime returns the physical part of a clock reading as a time, to the
// millisecond.
func HLCTime(hlc uint64) time.Time {
	return time.UnixMilli(int64(hlc >> logicalBits))
}

// physical is t as a reading with a zero logical counter; times before
// 1970 read as 0.
func physical(t time.Time) uint64 {
	ms := t.UnixMilli()
	if ms < 0 {
		return 0
	}
	return uint64(ms) << logicalBits
}
