package ec2api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// Keys in meta. Everything of an account is under ec2/<account id>/;
// ec2/owners/<id> maps every resource id to its account, so a DryRun can
// tell another account's resource from none.
func acctKey(account, kind, name string) string { return "ec2/" + account + "/" + kind + "/" + name }
func ownerKey(id string) string                 { return "ec2/owners/" + id }

// newID returns prefix + 17 lower-case hex digits, as EC2's ids.
func newID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])[:17]
}

// getJSON reads key into v, returning the raw bytes for a later
// compare-and-swap; meta.ErrNotFound when absent.
func getJSON(ctx context.Context, kv meta.Store, key string, v any) ([]byte, error) {
	b, err := kv.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return b, json.Unmarshal(b, v)
}

// createJSON writes v at key only if key is absent (meta.ErrConflict
// otherwise).
func createJSON(ctx context.Context, kv meta.Store, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return kv.CompareAndSwap(ctx, key, nil, b)
}

// updateJSON applies fn to the record at key with compare-and-swap,
// retrying on conflict; fn may return an error to stop. A missing record
// is meta.ErrNotFound.
func updateJSON[T any](ctx context.Context, kv meta.Store, key string, fn func(*T) error) error {
	for {
		var v T
		old, err := getJSON(ctx, kv, key, &v)
		if err != nil {
			return err
		}
		if err := fn(&v); err != nil {
			return err
		}
		b, err := json.Marshal(&v)
		if err != nil {
			return err
		}
		if bytes.Equal(b, old) {
			return nil
		}
		err = kv.CompareAndSwap(ctx, key, old, b)
		if !errors.Is(err, meta.ErrConflict) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// keyed is a record and its key past the listed prefix.
type keyed[T any] struct {
	id string
	v  T
}

// listKeyed decodes every record under prefix, in key order.
func listKeyed[T any](ctx context.Context, kv meta.Store, prefix string) ([]keyed[T], error) {
	pairs, err := kv.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]keyed[T], 0, len(pairs))
	for _, p := range pairs {
		k := keyed[T]{id: strings.TrimPrefix(p.Key, prefix)}
		if err := json.Unmarshal(p.Value, &k.v); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func isNotFound(err error) bool { return errors.Is(err, meta.ErrNotFound) }

// ownerOf returns the account id that holds resource id, "" for none.
func (h *Handler) ownerOf(ctx context.Context, id string) (string, error) {
	b, err := h.cfg.KV.Get(ctx, ownerKey(id))
	if errors.Is(err, meta.ErrNotFound) {
		return "", nil
	}
	return string(b), err
}

// setOwner records (account != "") or forgets the account of id.
func (h *Handler) setOwner(ctx context.Context, id, account string) error {
	if account == "" {
		return h.cfg.KV.Delete(ctx, ownerKey(id))
	}
	return h.cfg.KV.Put(ctx, ownerKey(id), []byte(account))
}
