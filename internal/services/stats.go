package services

import (
	"slices"
	"strconv"
	"sync"
	"time"
)

// stats are a service's live counters since this node started.
type stats struct {
	mu       sync.Mutex
	requests int64
	byCode   map[int]int64
	recent   []time.Duration // ring of the latest latencies
	next     int
	runWall  []time.Duration // ring of the latest sandbox run times
	hist     [len(LatencyBounds) + 1]int64
	perSec   [rateWindow]int64 // requests in each of the last seconds, by unix second mod rateWindow
	secAt    [rateWindow]int64 // the unix second each perSec slot counts
}

// LatencyBounds are the upper bounds (inclusive) of the latency histogram's
// buckets, in milliseconds; one last bucket counts everything slower. The
// histogram counts every request since the node started, in fixed memory.
var LatencyBounds = [...]float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}

// rateWindow is the seconds the request rate is averaged over.
const rateWindow = 60

// bucketOf is the histogram bucket of latency d.
func bucketOf(d time.Duration) int {
	ms := float64(d) / float64(time.Millisecond)
	for i, b := range LatencyBounds {
		if ms <= b {
			return i
		}
	}
	return len(LatencyBounds)
}

const statsWindow = 1024

func (s *stats) observe(now time.Time, code int, latency, run time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.hist[bucketOf(latency)]++
	sec := now.Unix()
	if slot := sec % rateWindow; s.secAt[slot] != sec {
		s.secAt[slot], s.perSec[slot] = sec, 1
	} else {
		s.perSec[slot]++
	}
	if s.byCode == nil {
		s.byCode = map[int]int64{}
	}
	s.byCode[code]++
	if len(s.recent) < statsWindow {
		s.recent = append(s.recent, latency)
		s.runWall = append(s.runWall, run)
	} else {
		s.recent[s.next], s.runWall[s.next] = latency, run
	}
	s.next = (s.next + 1) % statsWindow
}

// Stats is the summary `svc stats` prints.
type Stats struct {
	Name      string           `json:"name"`
	Requests  int64            `json:"requests"`
	InFlight  int              `json:"in_flight"`
	ByStatus  map[string]int64 `json:"by_status"`
	LatencyMS Percentiles      `json:"latency_ms"`
	RunMS     Percentiles      `json:"run_ms"` // the sandbox run alone
	// PerSecond is the request rate over the last minute.
	PerSecond float64 `json:"per_second"`
	// Histogram counts requests by latency since the node started:
	// Histogram[i] those within LatencyBounds[i] ms (and above the bound
	// before), the last those slower than every bound.
	Histogram []int64 `json:"latency_histogram"`
}

// Percentiles over the latest requests (up to 1024).
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) float64 {
		return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99)}
}

func (s *stats) summary(now time.Time, name string, inFlight int) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Name: name, Requests: s.requests, InFlight: inFlight, ByStatus: map[string]int64{},
		LatencyMS: percentiles(s.recent), RunMS: percentiles(s.runWall), Histogram: append([]int64(nil), s.hist[:]...)}
	var recent int64
	for i, at := range s.secAt {
		if d := now.Unix() - at; d >= 0 && d < rateWindow {
			recent += s.perSec[i]
		}
	}
	out.PerSecond = float64(recent) / rateWindow
	for code, n := range s.byCode {
		out.ByStatus[strconv.Itoa(code)] = n
	}
	return out
}
