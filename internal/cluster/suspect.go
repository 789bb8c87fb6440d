package cluster

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// suspectFor is how long a failed connection keeps a peer out of
// placement: two leases, by which time the view has it down, or it
// answers again.
const suspectFor = 2 * LeaseTTL * time.Second

// suspects are the peers this node lately failed to reach (the dial
// failed: refused, unreachable; or the transport's own timeout), by
// host:port. Placement skips them
// before their lease expires, so the writes that follow a node's death
// go to live nodes instead of failing for want of a quorum for up to a
// lease. A successful exchange with the peer clears it, and so does
// the time running out. Safe for concurrent use.
type suspects struct {
	mu    sync.Mutex
	until map[string]time.Time
	// cleared (nil: none) is called, under mu, when a peer stops being
	// suspect: the writes placed around it may now sit on the wrong
	// nodes, so the cluster asks for a repair pass. It must not block.
	cleared func()
}

func newSuspects() *suspects { return &suspects{until: map[string]time.Time{}} }

// onClear sets the cleared callback.
func (s *suspects) onClear(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleared = f
}

// expire forgets the peers whose time ran out (the membership loop
// calls it every second, so a peer that no caller asks about is cleared
// too).
func (s *suspects) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for h, t := range s.until {
		if now.After(t) {
			s.forget(h)
		}
	}
}

// forget drops host, under mu, and reports it cleared.
func (s *suspects) forget(host string) {
	delete(s.until, host)
	if s.cleared != nil {
		s.cleared()
	}
}

// has reports whether the node at endpoint (a URL) is suspect.
func (s *suspects) has(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.until[u.Host]
	if ok && time.Now().After(t) {
		s.forget(u.Host)
		return false
	}
	return ok
}

func (s *suspects) set(host string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, was := s.until[host]
	switch {
	case on:
		s.until[host] = time.Now().Add(suspectFor)
	case was:
		s.forget(host)
	}
}

// wrap returns rt recording into s the outcome of every exchange.
func (s *suspects) wrap(rt http.RoundTripper) http.RoundTripper {
	return suspectTransport{rt: rt, s: s}
}

type suspectTransport struct {
	rt http.RoundTripper
	s  *suspects
}

func (t suspectTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	var op *net.OpError
	var ne net.Error
	switch {
	case err == nil:
		t.s.set(req.URL.Host, false)
	case errors.As(err, &op) && op.Op == "dial":
		t.s.set(req.URL.Host, true)
	case errors.As(err, &ne) && ne.Timeout() && req.Context().Err() == nil:
		t.s.set(req.URL.Host, true) // the transport's own timeout
	}
	return resp, err
}
