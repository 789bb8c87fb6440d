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
}

const statsWindow = 1024

func (s *stats) observe(code int, latency, run time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
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

func (s *stats) summary(name string, inFlight int) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Name: name, Requests: s.requests, InFlight: inFlight, ByStatus: map[string]int64{},
		LatencyMS: percentiles(s.recent), RunMS: percentiles(s.runWall)}
	for code, n := range s.byCode {
		out.ByStatus[strconv.Itoa(code)] = n
	}
	return out
}
