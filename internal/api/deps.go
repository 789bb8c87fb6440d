package api

import (
	"context"
	"time"

	"github.com/insitu-cloud/insitu/internal/jobs"
	"github.com/insitu-cloud/insitu/internal/runs"
)

// Runs is what the API needs of the runs service (*runs.Service), so
// handlers can be tested over a small fake.
type Runs interface {
	Run(ctx context.Context, req runs.Request) (*runs.Record, error)
	Detach(ctx context.Context, req runs.Request) (string, error)
	List(ctx context.Context, account string, limit int, after string) ([]runs.Record, string, error)
	Get(ctx context.Context, account, id string) (*runs.Record, error)
	ListOpenWith(ctx context.Context, account, bucket string) ([]runs.OpenWith, error)
	SetOpenWith(ctx context.Context, account, bucket, contentType, app string) (runs.OpenWith, error)
	RemoveOpenWith(ctx context.Context, account, bucket, contentType string) error
}

// Jobs is what the API needs of the jobs service (*jobs.Service).
type Jobs interface {
	Submit(ctx context.Context, account string, spec jobs.Spec) (*jobs.Job, error)
	List(ctx context.Context, account string, limit int, after string) ([]jobs.Job, string, error)
	Get(ctx context.Context, account, id string) (*jobs.Job, error)
	Tasks(ctx context.Context, account, id string) ([]jobs.Task, error)
	Outputs(ctx context.Context, account, id string, phase int) ([]jobs.Output, error)
	Errors(ctx context.Context, account, id string) ([]jobs.TaskError, error)
	Cancel(ctx context.Context, account, id string) (*jobs.Job, error)
	Watch(ctx context.Context, account, id string, interval time.Duration, fn func(jobs.Job) error) error
}

var (
	_ Runs = (*runs.Service)(nil)
	_ Jobs = (*jobs.Service)(nil)
)
