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
// lease. A successful exchange with the peer clears it. Safe for
// concurrent use.
type suspects struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func newSuspects() *suspects { return &suspects{until: map[string]time.Time{}} }

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
		delete(s.until, u.Host)
		return false
	}
	return ok
}

func (s *suspects) set(host string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.until[host] = time.Now().Add(suspectFor)
	} else {
		delete(s.until, host)
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
