package instances

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/meta"
)

// tokenRecord is what a ClientToken launched: ec2/tokens/ACCOUNT/TOKEN.
// Params is a digest of the request's parameters, so a retry with other
// parameters is told apart (IdempotentParameterMismatch).
type tokenRecord struct {
	Params      string   `json:"params"`
	Reservation string   `json:"reservation"`
	Instances   []string `json:"instances"`
}

func tokenKey(account, token string) string { return "ec2/tokens/" + account + "/" + token }

// paramsDigest digests every parameter but the ones a retry may change
// (DryRun) or that name the call itself.
func paramsDigest(p ec2api.Params) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		if k != "DryRun" && k != "Action" && k != "Version" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		_ = json.NewEncoder(h).Encode([2]string{k, p[k]})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// replay answers a RunInstances whose ClientToken launched already: the
// same reservation, or IdempotentParameterMismatch when the parameters
// differ. It returns nil, nil when the token is new.
func (m *Manager) replay(ctx context.Context, account, token string, p ec2api.Params) (ec2api.Response, error) {
	b, err := m.kv.Get(ctx, tokenKey(account, token))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var t tokenRecord
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	if t.Params != paramsDigest(p) {
		return nil, ec2api.BadRequest("IdempotentParameterMismatch",
			"The client token '%s' was used before with different parameters.", token)
	}
	var recs []Record
	for _, id := range t.Instances {
		r, _, err := getRecord(ctx, m.kv, account, id)
		if errors.Is(err, meta.ErrNotFound) {
			continue // swept, or still being written by the first call
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	var groups []string
	if len(recs) > 0 {
		groups = recs[0].Groups
	}
	resp, err := m.runResponse(ctx, account, t.Reservation, groups, recs)
	if err != nil {
		return nil, err
	}
	resp.want = len(t.Instances)
	return resp, nil
}

// claimToken records the token's launch before any instance exists, so
// of two concurrent calls with one token only one launches; the other
// answers as a retry would.
func (m *Manager) claimToken(ctx context.Context, account, token string, p ec2api.Params, resID string, ids []string) (ec2api.Response, error) {
	b, _ := json.Marshal(tokenRecord{Params: paramsDigest(p), Reservation: resID, Instances: ids})
	err := m.kv.CompareAndSwap(ctx, tokenKey(account, token), nil, b)
	if errors.Is(err, meta.ErrConflict) {
		return m.replayWhenWritten(ctx, account, token, p)
	}
	return nil, err
}

// replayWhenWritten answers as replay once the winning call has written
// its records (it polls for up to tokenWait; then answers what exists).
func (m *Manager) replayWhenWritten(ctx context.Context, account, token string, p ec2api.Params) (ec2api.Response, error) {
	deadline := time.Now().Add(tokenWait)
	for {
		resp, err := m.replay(ctx, account, token, p)
		if err != nil || resp == nil || time.Now().After(deadline) {
			return resp, err
		}
		if r := resp.(*runResp); len(r.Instances) == r.want {
			return resp, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tokenWait bounds how long a call that lost a token race waits for the
// winner's records.
const tokenWait = 2 * time.Second
