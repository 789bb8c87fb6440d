package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// DefaultListLimit and MaxListLimit bound one page of List.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// List returns one page of account's jobs, newest first: at most limit
// (default DefaultListLimit, at most MaxListLimit) jobs older than the job
// id after ("" starts at the newest), running ones as they are now. next
// is the token for the following page, "" at the end. It reads the page
// from the index, not every job.
func (s *Service) List(ctx context.Context, account string, limit int, after string) (list []Job, next string, err error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	page := meta.Page{Limit: limit + 1, Reverse: true}
	if after != "" {
		page.After = jobKey(account, after)
	}
	pairs, err := s.cfg.KV.ListPage(ctx, jobsPrefix(account), page)
	if err != nil {
		return nil, "", err
	}
	if len(pairs) > limit {
		pairs = pairs[:limit]
		next = strings.TrimPrefix(pairs[limit-1].Key, jobsPrefix(account))
	}
	out := make([]Job, 0, len(pairs))
	for _, p := range pairs {
		var j Job
		if err := json.Unmarshal(p.Value, &j); err != nil {
			return nil, "", fmt.Errorf("jobs: decode %s: %w", p.Key, err)
		}
		if r := s.lookup(account, j.ID); r != nil {
			j = r.snapshot()
		}
		out = append(out, j)
	}
	return out, next, nil
}
