package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// pruneBatch is how many keys one index read of Prune returns.
const pruneBatch = 200

// Prune deletes finished jobs (summary and task state; their output
// objects stay) that ended before cutoff (a zero cutoff keeps any age)
// and, per account, the finished ones beyond the newest maxCount jobs (0:
// no cap). Queued and running jobs are never deleted. It walks the index
// one account and one page at a time and returns how many jobs it deleted.
// It may run concurrently with jobs being submitted, run and listed.
func (s *Service) Prune(ctx context.Context, cutoff time.Time, maxCount int) (int, error) {
	total := 0
	err := meta.EachGroup(ctx, s.cfg.KV, "jobs/", func(account string) error {
		n, err := s.pruneAccount(ctx, account, cutoff, maxCount)
		total += n
		return err
	})
	return total, err
}

func (s *Service) pruneAccount(ctx context.Context, account string, cutoff time.Time, maxCount int) (int, error) {
	prefix, last := jobsPrefix(account), ""
	if maxCount > 0 {
		var err error
		if last, err = meta.NewestPast(ctx, s.cfg.KV, prefix, maxCount); err != nil {
			return 0, err
		}
	}
	n, after := 0, ""
	for {
		if err := ctx.Err(); err != nil {
			return n, err // Close stops a long sweep between pages
		}
		page, err := s.cfg.KV.ListPage(ctx, prefix, meta.Page{After: after, Limit: pruneBatch})
		if err != nil || len(page) == 0 {
			return n, err
		}
		for _, p := range page {
			var j Job
			if err := json.Unmarshal(p.Value, &j); err != nil {
				return n, fmt.Errorf("jobs: decode %s: %w", p.Key, err)
			}
			if p.Key > last && (cutoff.IsZero() || !j.Created.Before(cutoff)) {
				return n, nil // ids sort by creation: the rest are newer
			}
			after = p.Key
			if !j.State.Done() || s.lookup(account, j.ID) != nil || (p.Key > last && !j.Ended.Before(cutoff)) {
				continue
			}
			if err := s.deleteJob(ctx, account, j.ID); err != nil {
				return n, err
			}
			n++
		}
	}
}

// deleteJob removes a finished job's task chunks, then its summary.
func (s *Service) deleteJob(ctx context.Context, account, id string) error {
	chunks, err := s.cfg.KV.List(ctx, tasksPrefix(account, id))
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if err := s.cfg.KV.Delete(ctx, c.Key); err != nil {
			return err
		}
	}
	return s.cfg.KV.Delete(ctx, jobKey(account, id))
}
