package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// pruneBatch is how many keys one index read of Prune returns.
const pruneBatch = 500

// Prune deletes run records that started before cutoff (a zero cutoff
// keeps any age) and, per account, all but the newest maxCount (0: no
// cap). It walks the index one account and one page at a time, never
// loading an account's records at once, and returns how many it deleted.
// It may run concurrently with runs being recorded and listed.
func (s *Service) Prune(ctx context.Context, cutoff time.Time, maxCount int) (int, error) {
	total := 0
	err := meta.EachGroup(ctx, s.kv, "runs/", func(account string) error {
		n, err := s.pruneAccount(ctx, account, cutoff, maxCount)
		total += n
		return err
	})
	return total, err
}

func (s *Service) pruneAccount(ctx context.Context, account string, cutoff time.Time, maxCount int) (int, error) {
	prefix, last := recordsPrefix(account), ""
	if maxCount > 0 {
		var err error
		if last, err = meta.NewestPast(ctx, s.kv, prefix, maxCount); err != nil {
			return 0, err
		}
	}
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err // Close stops a long sweep between pages
		}
		page, err := s.kv.ListPage(ctx, prefix, meta.Page{Limit: pruneBatch})
		if err != nil || len(page) == 0 {
			return n, err
		}
		for _, p := range page {
			old, err := startedBefore(p, cutoff)
			if err != nil {
				return n, err
			}
			if p.Key > last && !old {
				return n, nil // ids sort by start time: the rest are newer
			}
			if err := s.kv.Delete(ctx, p.Key); err != nil {
				return n, err
			}
			n++
		}
	}
}

// startedBefore reports whether the record in p started before cutoff.
func startedBefore(p meta.Pair, cutoff time.Time) (bool, error) {
	if cutoff.IsZero() {
		return false, nil
	}
	var rec struct {
		Start time.Time `json:"start"`
	}
	if err := json.Unmarshal(p.Value, &rec); err != nil {
		return false, fmt.Errorf("runs: decode %s: %w", p.Key, err)
	}
	return rec.Start.Before(cutoff), nil
}
