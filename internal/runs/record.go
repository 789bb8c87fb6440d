package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// ErrNoSuchRun is returned for an unknown run id.
var ErrNoSuchRun = errors.New("runs: no such run")

// Record is the accounting line of one run.
type Record struct {
	ID          string         `json:"id"`
	Account     string         `json:"account"`
	App         string         `json:"app"` // owner/name:version
	Digest      string         `json:"digest"`
	Node        string         `json:"node"`
	Kind        string         `json:"kind"`  // run, transform, open, write
	Start       time.Time      `json:"start"` // when it left the queue
	QueuedMS    float64        `json:"queued_ms,omitempty"`
	WallMS      float64        `json:"wall_ms"`
	CPUMS       float64        `json:"cpu_ms"`
	Status      sandbox.Status `json:"status"`
	ExitCode    int            `json:"exit_code"`
	Error       string         `json:"error,omitempty"`
	PeakMemory  int64          `json:"peak_memory"`
	StdinBytes  int64          `json:"stdin_bytes"`
	StdoutBytes int64          `json:"stdout_bytes"`
	StderrBytes int64          `json:"stderr_bytes"`
	InputBytes  int64          `json:"input_bytes"`
	OutputBytes int64          `json:"output_bytes"`
	Outputs     []string       `json:"outputs,omitempty"` // s3:// URLs written
}

// OK reports whether the run exited 0.
func (r *Record) OK() bool { return r.Status == sandbox.StatusExited && r.ExitCode == 0 }

// fill copies a sandbox result into the record.
func (r *Record) fill(res *sandbox.Result) {
	r.Status, r.ExitCode, r.Error = res.Status, res.ExitCode, res.Reason
	r.WallMS, r.CPUMS = ms(res.Wall), ms(res.CPU)
	r.QueuedMS += ms(res.Queued) // a worker being replaced after a kill
	r.PeakMemory, r.StdinBytes, r.StdoutBytes, r.StderrBytes = res.PeakMemory, res.StdinBytes, res.StdoutBytes, res.StderrBytes
	r.InputBytes, r.OutputBytes = res.InputBytes, res.OutputBytes
}

func recordKey(account, id string) string { return "runs/" + account + "/" + id }

func (s *Service) saveRecord(ctx context.Context, rec *Record) error {
	b, err := marshalRecord(rec)
	if err != nil {
		return err
	}
	return s.commits.put(ctx, recordKey(rec.Account, rec.ID), b)
}

// Get returns account's run id.
func (s *Service) Get(ctx context.Context, account, id string) (*Record, error) {
	s.synced(ctx)
	b, err := s.kv.Get(ctx, recordKey(account, id))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, ErrNoSuchRun
	}
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("runs: decode %s: %w", id, err)
	}
	return &rec, nil
}

// DefaultListLimit and MaxListLimit bound one page of List.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

func recordsPrefix(account string) string { return "runs/" + account + "/" }

// List returns one page of account's runs, newest first: at most limit
// (default DefaultListLimit, at most MaxListLimit) runs older than the run
// id after ("" starts at the newest). next is the token for the following
// page, "" at the end. It reads the page from the index, not every record.
func (s *Service) List(ctx context.Context, account string, limit int, after string) (list []Record, next string, err error) {
	s.synced(ctx)
	limit = clampLimit(limit)
	page := meta.Page{Limit: limit + 1, Reverse: true}
	if after != "" {
		page.After = recordKey(account, after)
	}
	pairs, err := s.kv.ListPage(ctx, recordsPrefix(account), page)
	if err != nil {
		return nil, "", err
	}
	if len(pairs) > limit {
		pairs = pairs[:limit]
		next = strings.TrimPrefix(pairs[limit-1].Key, recordsPrefix(account))
	}
	out := make([]Record, 0, len(pairs))
	for _, p := range pairs {
		var rec Record
		if err := json.Unmarshal(p.Value, &rec); err != nil {
			return nil, "", fmt.Errorf("runs: decode %s: %w", p.Key, err)
		}
		out = append(out, rec)
	}
	return out, next, nil
}

func clampLimit(limit int) int {
	if limit <= 0 {
		return DefaultListLimit
	}
	return min(limit, MaxListLimit)
}
