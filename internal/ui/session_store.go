package ui

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// get returns a live session and marks it used; an expired one is
// dropped. With a store, a cached copy older than cacheFor is read again,
// so a logout anywhere ends it here. It returns a copy.
func (t *sessions) get(ctx context.Context, id string) (session, bool, error) {
	now := t.now()
	t.mu.Lock()
	c, ok := t.byID[id]
	if ok && (t.kv == nil || now.Sub(c.checked) < cacheFor) {
		defer t.mu.Unlock()
		if t.expired(&c.s, now) {
			delete(t.byID, id)
			return session{}, false, nil
		}
		c.s.lastSeen = now
		return c.s, true, nil
	}
	t.mu.Unlock()
	if t.kv == nil {
		return session{}, false, nil
	}
	return t.load(ctx, id, now)
}

// load reads session id from the store, drops it when expired, writes its
// last use when touchEvery has passed, and caches it.
func (t *sessions) load(ctx context.Context, id string, now time.Time) (session, bool, error) {
	b, err := t.kv.Get(ctx, storeKey(id))
	if errors.Is(err, meta.ErrNotFound) {
		t.forget(id)
		return session{}, false, nil
	}
	if err != nil {
		return session{}, false, err
	}
	var st stored
	if err := json.Unmarshal(b, &st); err != nil || len(st.SecretSum) != 32 {
		return session{}, false, errors.Join(errors.New("ui: a stored session is damaged"), err)
	}
	s := session{id: id, csrf: st.CSRF, accessKey: st.AccessKey, account: st.Account, accountID: st.AccountID,
		created: st.Created, lastSeen: st.LastSeen}
	copy(s.secretSum[:], st.SecretSum)
	if t.expired(&s, now) {
		return session{}, false, t.revoke(ctx, id)
	}
	s.lastSeen = now
	if now.Sub(st.LastSeen) >= touchEvery {
		if err := t.write(ctx, &s); err != nil {
			return session{}, false, err
		}
	}
	t.mu.Lock()
	if t.roomLocked(now) {
		t.byID[id] = &cached{s: s, checked: now}
	}
	t.mu.Unlock()
	return s, true, nil
}

func (t *sessions) forget(id string) {
	t.mu.Lock()
	delete(t.byID, id)
	t.mu.Unlock()
}

// revoke ends a session here and in the store; ending a missing one is
// not an error.
func (t *sessions) revoke(ctx context.Context, id string) error {
	t.forget(id)
	if t.kv == nil {
		return nil
	}
	if err := t.kv.Delete(ctx, storeKey(id)); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	return nil
}

// prune checks the next prunePage stored sessions and deletes those past
// their absolute expiry. Errors only cut this round short.
func (t *sessions) prune(ctx context.Context, now time.Time) {
	t.mu.Lock()
	after := t.pruned
	t.mu.Unlock()
	page, err := t.kv.ListPage(ctx, sessionsPrefix, meta.Page{After: after, Limit: prunePage})
	if err != nil {
		return
	}
	next := ""
	if len(page) == prunePage {
		next = page[len(page)-1].Key
	}
	for _, p := range page {
		var st stored
		if json.Unmarshal(p.Value, &st) == nil && !now.Before(st.Expires) {
			_ = t.kv.Delete(ctx, p.Key)
		}
	}
	t.mu.Lock()
	t.pruned = next
	t.mu.Unlock()
}
