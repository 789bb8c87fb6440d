package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// Session lifetimes when Options leaves them zero.
const (
	// DefaultIdle ends a session not used for 12 hours.
	DefaultIdle = 12 * time.Hour
	// DefaultMaxAge ends every session 24 hours after sign-in, used or not.
	DefaultMaxAge = 24 * time.Hour
	// maxSessions bounds the sessions a node caches (and, without a store,
	// keeps); past it, expired ones go first, then the cache is emptied
	// (a stored session is read again) or, without a store, sign-in is
	// refused.
	maxSessions = 100_000
	// cacheFor is how long a node trusts its cached copy of a stored
	// session before reading it again: a logout on another node ends the
	// session here within this time.
	cacheFor = time.Second
	// touchEvery is the least time between two writes of a stored
	// session's last use (idle expiry is this coarse in a cluster).
	touchEvery = time.Minute
	// prunePage is how many stored sessions each sign-in checks for
	// expiry (walking the store a page at a time, round and round).
	prunePage = 64
	// sessionsPrefix holds the stored sessions, by SHA-256 of their id.
	sessionsPrefix = "uisessions/"
)

// session is one signed-in browser.
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

// stored is a session as meta.Store keeps it (under the SHA-256 of its
// id, so the store never holds a usable cookie).
type stored struct {
	CSRF      string    `json:"csrf"`
	AccessKey string    `json:"access_key"`
	SecretSum []byte    `json:"secret_sha256"`
	Account   string    `json:"account"`
	AccountID string    `json:"account_id"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	Expires   time.Time `json:"expires"` // Created + MaxAge, for pruning
}

// root reports whether the session is root's (root's id is its name).
func (s *session) root() bool { return s.accountID == "root" }

// cached is a session as this node holds it.
type cached struct {
	s       session
	checked time.Time // when it was last read from the store
}

// sessions is the session table: in meta.Store when kv is set (every node
// of a cluster then accepts every session), cached per node; in this
// node's memory alone otherwise. It is safe for concurrent use.
type sessions struct {
	mu     sync.Mutex
	byID   map[string]*cached
	kv     meta.Store // nil: memory only
	idle   time.Duration
	maxAge time.Duration
	now    func() time.Time
	pruned string // the last key the pruning walk checked
}

func newSessions(kv meta.Store, idle, maxAge time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*cached{}, kv: kv, idle: idle, maxAge: maxAge, now: now}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func storeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return sessionsPrefix + hex.EncodeToString(sum[:])
}

// errFull means the node keeps no more sessions (memory only).
var errFull = errors.New("ui: session table full")

// create starts a session and, with a store, writes it there.
func (t *sessions) create(ctx context.Context, accessKey, secret, account, accountID string) (*session, error) {
	now := t.now()
	s := &session{id: randomToken(), csrf: randomToken(), accessKey: accessKey, secretSum: sha256.Sum256([]byte(secret)),
		account: account, accountID: accountID, created: now, lastSeen: now}
	if t.kv != nil {
		if err := t.write(ctx, s); err != nil {
			return nil, err
		}
		t.prune(ctx, now)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.roomLocked(now) {
		return nil, errFull
	}
	t.byID[s.id] = &cached{s: *s, checked: now}
	return s, nil
}

// roomLocked makes room for one more cached session.
func (t *sessions) roomLocked(now time.Time) bool {
	if len(t.byID) < maxSessions {
		return true
	}
	for id, c := range t.byID {
		if t.expired(&c.s, now) {
			delete(t.byID, id)
		}
	}
	if len(t.byID) >= maxSessions && t.kv != nil {
		clear(t.byID) // a cache: stored sessions are read again
	}
	return len(t.byID) < maxSessions
}

func (t *sessions) write(ctx context.Context, s *session) error {
	b, err := json.Marshal(stored{CSRF: s.csrf, AccessKey: s.accessKey, SecretSum: s.secretSum[:], Account: s.account,
		AccountID: s.accountID, Created: s.created, LastSeen: s.lastSeen, Expires: s.created.Add(t.maxAge)})
	if err != nil {
		return err
	}
	return t.kv.Put(ctx, storeKey(s.id), b)
}

func (t *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.lastSeen) >= t.idle || now.Sub(s.created) >= t.maxAge
}

// expires is when s ends if it keeps being used.
func (t *sessions) expires(s *session) time.Time { return s.created.Add(t.maxAge) }

// sameSecret reports whether secret is the one s signed in with.
func (s *session) sameSecret(secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], s.secretSum[:]) == 1
}

// csrfOK reports whether token is s's CSRF token.
func (s *session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}
