package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// chunkSize is how many tasks one meta value holds.
const chunkSize = 1000

func jobsPrefix(account string) string      { return "jobs/" + account + "/" }
func jobKey(account, id string) string      { return jobsPrefix(account) + id }
func tasksPrefix(account, id string) string { return "jobtasks/" + account + "/" + id + "/" }
func chunkKey(account, id string, phase, chunk int) string {
	return fmt.Sprintf("%s%03d/%06d", tasksPrefix(account, id), phase, chunk)
}

func (s *Service) loadJob(ctx context.Context, account, id string) (*Job, error) {
	if strings.ContainsAny(id, "/\x00") || id == "" {
		return nil, ErrNoSuchJob
	}
	b, err := s.cfg.KV.Get(ctx, jobKey(account, id))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, ErrNoSuchJob
	}
	if err != nil {
		return nil, err
	}
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("jobs: decode %s: %w", id, err)
	}
	return &j, nil
}

// walkJobs calls fn for each job under prefix in key (creation) order,
// reading the index one page at a time.
func (s *Service) walkJobs(ctx context.Context, prefix string, fn func(*Job) error) error {
	after := ""
	for {
		pairs, err := s.cfg.KV.ListPage(ctx, prefix, meta.Page{After: after, Limit: pruneBatch})
		if err != nil || len(pairs) == 0 {
			return err
		}
		for _, p := range pairs {
			var j Job
			if err := json.Unmarshal(p.Value, &j); err != nil {
				return fmt.Errorf("jobs: decode %s: %w", p.Key, err)
			}
			if err := fn(&j); err != nil {
				return err
			}
		}
		after = pairs[len(pairs)-1].Key
	}
}

// loadTasks reads a job's task chunks, phase by phase in task order.
func (s *Service) loadTasks(ctx context.Context, account, id string) ([]Task, error) {
	pairs, err := s.cfg.KV.List(ctx, tasksPrefix(account, id))
	if err != nil {
		return nil, err
	}
	var out []Task
	for _, p := range pairs {
		var chunk []Task
		if err := json.Unmarshal(p.Value, &chunk); err != nil {
			return nil, fmt.Errorf("jobs: decode %s: %w", p.Key, err)
		}
		out = append(out, chunk...)
	}
	return out, nil
}

// recover marks the jobs a previous process left unfinished as failed:
// their runs died with it.
func (s *Service) recover(ctx context.Context) error {
	return s.walkJobs(ctx, "jobs/", func(j *Job) error {
		if j.State.Done() {
			return nil
		}
		return s.interrupt(ctx, j)
	})
}

// interruptedWhy is the error of jobs and tasks a restart cut short.
const interruptedWhy = "interrupted: the node restarted before the job ended"

// interrupt marks unfinished job j failed, its running tasks failed and
// its pending ones cancelled.
func (s *Service) interrupt(ctx context.Context, j *Job) error {
	if err := s.interruptTasks(ctx, j); err != nil {
		return err
	}
	for i := range j.Phases {
		ph := &j.Phases[i]
		ph.Failed += ph.Running
		ph.Cancelled += ph.Pending
		ph.Running, ph.Pending = 0, 0
	}
	j.State, j.Error, j.Ended = Failed, interruptedWhy, s.cfg.Now().UTC()
	b, _ := json.Marshal(j)
	if err := s.cfg.KV.Put(ctx, jobKey(j.Account, j.ID), b); err != nil {
		return err
	}
	s.log.Warn("job interrupted by a restart", "account", j.Account, "job", j.ID)
	return nil
}

// interruptTasks rewrites j's task chunks that hold running or pending
// tasks.
func (s *Service) interruptTasks(ctx context.Context, j *Job) error {
	pairs, err := s.cfg.KV.List(ctx, tasksPrefix(j.Account, j.ID))
	if err != nil {
		return err
	}
	for _, p := range pairs {
		var chunk []Task
		if err := json.Unmarshal(p.Value, &chunk); err != nil {
			return fmt.Errorf("jobs: decode %s: %w", p.Key, err)
		}
		changed := false
		for i := range chunk {
			switch chunk[i].State {
			case Running:
				chunk[i].State, chunk[i].Error, changed = Failed, interruptedWhy, true
			case Pending:
				chunk[i].State, changed = Cancelled, true
			}
		}
		if changed {
			b, _ := json.Marshal(chunk)
			if err := s.cfg.KV.Put(ctx, p.Key, b); err != nil {
				return err
			}
		}
	}
	return nil
}
