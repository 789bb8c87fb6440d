package ui

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Sign-in limits: attempts per window from one source address and for one
// access key; each table keeps at most limiterMax keys.
const (
	loginWindow     = time.Minute
	loginPerAddress = 30
	loginPerKey     = 10
	limiterMax      = 10_000
	overflowKey     = "\x00overflow"
)

// limiter counts events per key in fixed windows. Its memory is bounded:
// once it holds max keys, expired windows are dropped and, if it is still
// full, new keys share one overflow window (so a flood of addresses slows
// itself, not the addresses already known). It is safe for concurrent use.
type limiter struct {
	mu    sync.Mutex
	byKey map[string]*window
	limit int
	per   time.Duration
	max   int
	now   func() time.Time
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(limit int, per time.Duration, max int, now func() time.Time) *limiter {
	return &limiter{byKey: map[string]*window{}, limit: limit, per: per, max: max, now: now}
}

// allow counts one event for key and reports whether it is within the
// limit, and if not, how long until it is.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.byKey[key]
	if !ok && len(l.byKey) >= l.max {
		for k, old := range l.byKey {
			if now.Sub(old.start) >= l.per {
				delete(l.byKey, k)
			}
		}
		if len(l.byKey) >= l.max {
			key = overflowKey
			w, ok = l.byKey[key]
		}
	}
	if !ok || now.Sub(w.start) >= l.per {
		w = &window{start: now}
		l.byKey[key] = w
	}
	w.n++
	if w.n > l.limit {
		return false, w.start.Add(l.per).Sub(now)
	}
	return true, 0
}

// sourceAddress is the request's peer address without the port.
func sourceAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginAllowed applies both sign-in limits; when one is over, it answers
// 429 in words, with Retry-After, and reports false.
func (h *Handler) loginAllowed(w http.ResponseWriter, r *http.Request, accessKey string) bool {
	from := "from your address"
	ok, wait := h.byAddress.allow(sourceAddress(r))
	if ok {
		from = "for this access key"
		ok, wait = h.byKey.allow(accessKey)
	}
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
	c := &call{w: w, r: r, ctx: r.Context()}
	msg := "Too many sign-in attempts " + from + ". Wait a minute and try again."
	if err := h.render(c, http.StatusTooManyRequests, "login", view{Title: "Sign in", Error: msg}); err != nil {
		h.fail(c, err)
	}
	return false
}
