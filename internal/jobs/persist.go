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

// loadJobs returns the jobs under prefix in key (creation) order.
func (s *Service) loadJobs(ctx context.Context, prefix string) ([]Job, error) {
	pairs, err := s.cfg.KV.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]Job, 0, len(pairs))
	for _, p := range pairs {
		var j Job
		if err := json.Unmarshal(p.Value, &j); err != nil {
			return nil, fmt.Errorf("jobs: decode %s: %w", p.Key, err)
		}
		out = append(out, j)
	}
	return out, nil
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
	jobs, err := s.loadJobs(ctx, "jobs/")
	if err != nil {
		return err
	}
	const why = "interrupted: the node restarted before the job ended"
	for _, j := range jobs {
		if j.State.Done() {
			continue
		}
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
					chunk[i].State, chunk[i].Error, changed = Failed, why, true
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
		for i := range j.Phases {
			ph := &j.Phases[i]
			ph.Failed += ph.Running
			ph.Cancelled += ph.Pending
			ph.Running, ph.Pending = 0, 0
		}
		j.State, j.Error, j.Ended = Failed, why, s.cfg.Now().UTC()
		b, _ := json.Marshal(j)
		if err := s.cfg.KV.Put(ctx, jobKey(j.Account, j.ID), b); err != nil {
			return err
		}
		s.log.Warn("job interrupted by a restart", "account", j.Account, "job", j.ID)
	}
	return nil
}
