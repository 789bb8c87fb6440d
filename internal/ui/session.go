package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// Session lifetimes when Options leaves them zero.
const (
	// DefaultIdle ends a session not used for 12 hours.
	DefaultIdle = 12 * time.Hour
	// DefaultMaxAge ends every session 24 hours after sign-in, used or not.
	DefaultMaxAge = 24 * time.Hour
	// maxSessions bounds the sessions kept; signing in past it first drops
	// expired ones, then refuses.
	maxSessions = 100_000
)

// session is one signed-in browser. It lives only in this node's memory.
type session struct {
	id        string // the cookie value
	csrf      string // the token every state-changing request carries
	accessKey string
	secretSum [32]byte // SHA-256 of the secret at sign-in: a rotated secret ends it
	account   string   // name, for display
	accountID string   // what ownership compares
	created   time.Time
	lastSeen  time.Time
}

// root reports whether the session is root's (root's id is its name).
func (s *session) root() bool { return s.accountID == "root" }

// sessions is the in-memory session table. It is safe for concurrent use.
type sessions struct {
	mu     sync.Mutex
	byID   map[string]*session
	idle   time.Duration
	maxAge time.Duration
	now    func() time.Time
}

func newSessions(idle, maxAge time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle, maxAge: maxAge, now: now}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session; ok is false when the table is full.
func (t *sessions) create(accessKey, secret, account, accountID string) (*session, bool) {
	now := t.now()
	s := &session{id: randomToken(), csrf: randomToken(), accessKey: accessKey, secretSum: sha256.Sum256([]byte(secret)),
		account: account, accountID: accountID, created: now, lastSeen: now}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.byID) >= maxSessions {
		for id, old := range t.byID {
			if t.expired(old, now) {
				delete(t.byID, id)
			}
		}
		if len(t.byID) >= maxSessions {
			return nil, false
		}
	}
	t.byID[s.id] = s
	return s, true
}

func (t *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.lastSeen) >= t.idle || now.Sub(s.created) >= t.maxAge
}

// get returns a live session and marks it used; an expired one is dropped.
// It returns a copy, so callers need no lock.
func (t *sessions) get(id string) (session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byID[id]
	if !ok {
		return session{}, false
	}
	now := t.now()
	if t.expired(s, now) {
		delete(t.byID, id)
		return session{}, false
	}
	s.lastSeen = now
	return *s, true
}

// expires is when s ends if it keeps being used.
func (t *sessions) expires(s *session) time.Time { return s.created.Add(t.maxAge) }

// revoke ends a session; ending a missing one is not an error.
func (t *sessions) revoke(id string) {
	t.mu.Lock()
	delete(t.byID, id)
	t.mu.Unlock()
}

// sameSecret reports whether secret is the one s signed in with.
func (s *session) sameSecret(secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], s.secretSum[:]) == 1
}

// csrfOK reports whether token is s's CSRF token.
func (s *session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}
