package obs

import (
	"sync"
	"time"
)

// RecentBounds are the upper bounds of Recent's latency buckets; one more
// bucket counts the slower requests.
var RecentBounds = [...]time.Duration{
	time.Millisecond, 4 * time.Millisecond, 16 * time.Millisecond, 64 * time.Millisecond,
	256 * time.Millisecond, time.Second, 4 * time.Second,
}

// Recent bounds: RecentMinutes minute slots (an hour) and the newest
// RecentFailures failed requests.
const (
	RecentMinutes  = 60
	RecentFailures = 256
)

// Recent keeps the node's last hour of requests in fixed memory: per
// minute the request count, the server failures (status 500 and up) and a
// latency histogram over RecentBounds; and the newest RecentFailures
// failed requests (status 400 and up) of signed requests, with the account
// that made them. It is what the dashboard's overview draws. Safe for
// concurrent use (one mutex, held for a few additions).
type Recent struct {
	mu       sync.Mutex
	minutes  [RecentMinutes]minute
	failures [RecentFailures]Failure
	next     int // where the next failure goes
	held     int // failures held, at most RecentFailures
}

type minute struct {
	at               int64 // the Unix minute this slot holds
	requests, errors int64
	latency          [len(RecentBounds) + 1]int64
}

// Minute is one minute of requests.
type Minute struct {
	Start            time.Time
	Requests, Errors int64
	// Latency counts requests per RecentBounds bucket, then the slower.
	Latency [len(RecentBounds) + 1]int64
}

// Failure is one request answered with status 400 or more.
type Failure struct {
	Time                  time.Time
	AccountID             string // the account's stable id, as Info.AccountID
	API, Op, Method, Path string
	Status                int
	RequestID             string
}

// Observe records one finished request that started at start and took d.
func (r *Recent) Observe(start time.Time, d time.Duration, status int, f Failure) {
	m := start.Unix() / 60
	b := 0
	for b < len(RecentBounds) && d > RecentBounds[b] {
		b++
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.minutes[m%RecentMinutes]
	if s.at != m {
		*s = minute{at: m}
	}
	s.requests++
	s.latency[b]++
	if status >= 500 {
		s.errors++
	}
	if status >= 400 && f.AccountID != "" {
		f.Time, f.Status = start, status
		r.failures[r.next] = f
		r.next = (r.next + 1) % RecentFailures
		r.held = min(r.held+1, RecentFailures)
	}
}

// Minutes returns the RecentMinutes minutes up to now, oldest first; a
// minute without requests is there with zero counts.
func (r *Recent) Minutes(now time.Time) []Minute {
	last := now.Unix() / 60
	out := make([]Minute, RecentMinutes)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range out {
		m := last - RecentMinutes + 1 + int64(i)
		out[i].Start = time.Unix(m*60, 0).UTC()
		if s := &r.minutes[m%RecentMinutes]; s.at == m {
			out[i].Requests, out[i].Errors, out[i].Latency = s.requests, s.errors, s.latency
		}
	}
	return out
}

// Failures returns the newest failed requests of the account with id
// accountID (at most limit), newest first.
func (r *Recent) Failures(accountID string, limit int) []Failure {
	var out []Failure
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 1; i <= r.held && len(out) < limit; i++ {
		f := r.failures[(r.next-i+RecentFailures)%RecentFailures]
		if f.AccountID == accountID {
			out = append(out, f)
		}
	}
	return out
}
