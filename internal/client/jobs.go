package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// JobSpec is a map/reduce job (POST /api/v1/jobs).
type JobSpec struct {
	Inputs  []string   `json:"inputs"`
	Out     string     `json:"out,omitempty"`
	Phases  []JobPhase `json:"phases"`
	Retries int        `json:"retries,omitempty"`
}

// JobPhase is one stage of a job: "map" (a run per input object) or
// "reduce" (Reducers runs fed the previous phase's outputs).
type JobPhase struct {
	Type        string            `json:"type"`
	App         string            `json:"app"`
	Args        []string          `json:"args,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	Limits      map[string]any    `json:"limits,omitempty"` // "memory": "64MiB", "timeout": "10s"
	Concurrency int               `json:"concurrency,omitempty"`
	Assets      []string          `json:"assets,omitempty"`
	Reducers    int               `json:"reducers,omitempty"`
	Partition   bool              `json:"partition,omitempty"`
}

// Job is a job's state.
type Job struct {
	ID       string           `json:"id"`
	Account  string           `json:"account"`
	State    string           `json:"state"` // queued, running, succeeded, failed, cancelled
	Error    string           `json:"error,omitempty"`
	Spec     JobSpec          `json:"spec"`
	Out      string           `json:"out"`
	Created  time.Time        `json:"created"`
	Started  time.Time        `json:"started,omitzero"`
	Ended    time.Time        `json:"ended,omitzero"`
	Phases   []JobPhaseStatus `json:"phases"`
	BytesIn  int64            `json:"bytes_in"`
	BytesOut int64            `json:"bytes_out"`
	Errors   []JobTaskError   `json:"errors,omitempty"`
}

// Done reports whether the job has ended.
func (j *Job) Done() bool {
	return j.State == "succeeded" || j.State == "failed" || j.State == "cancelled"
}

// JobPhaseStatus counts a phase's tasks by state.
type JobPhaseStatus struct {
	Type      string `json:"type"`
	App       string `json:"app"`
	Tasks     int    `json:"tasks"`
	Pending   int    `json:"pending"`
	Running   int    `json:"running"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	Cancelled int    `json:"cancelled"`
	BytesIn   int64  `json:"bytes_in"`
	BytesOut  int64  `json:"bytes_out"`
}

// JobTaskError is a failed task.
type JobTaskError struct {
	Phase  int    `json:"phase"`
	Index  int    `json:"index"`
	Input  string `json:"input,omitempty"`
	Error  string `json:"error"`
	Stderr string `json:"stderr,omitempty"`
	Output string `json:"output,omitempty"`
	Record string `json:"record,omitempty"`
}

// JobOutput is one task's output object.
type JobOutput struct {
	Phase  int    `json:"phase"`
	Index  int    `json:"index"`
	State  string `json:"state"`
	Object string `json:"object"`
	Size   int64  `json:"size"`
}

// JobTask is one task's state.
type JobTask struct {
	Phase    int      `json:"phase"`
	Index    int      `json:"index"`
	State    string   `json:"state"`
	Input    string   `json:"input,omitempty"`
	Node     string   `json:"node,omitempty"`
	Attempts int      `json:"attempts,omitempty"`
	Records  []string `json:"records,omitempty"`
	Output   string   `json:"output,omitempty"`
	Stderr   string   `json:"stderr,omitempty"`
	Status   string   `json:"status,omitempty"`
	ExitCode int      `json:"exit_code,omitempty"`
	Error    string   `json:"error,omitempty"`
	BytesIn  int64    `json:"bytes_in,omitempty"`
	BytesOut int64    `json:"bytes_out,omitempty"`
}

func jobPath(id string, rest string) string { return "/api/v1/jobs/" + url.PathEscape(id) + rest }

// SubmitJob starts a job and returns its first state.
func (c *Client) SubmitJob(ctx context.Context, spec JobSpec) (*Job, error) {
	var j Job
	if err := c.do(ctx, http.MethodPost, "/api/v1/jobs", spec, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// GetJob returns a job's state.
func (c *Client) GetJob(ctx context.Context, id string) (*Job, error) {
	var j Job
	if err := c.do(ctx, http.MethodGet, jobPath(id, ""), nil, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// ListJobs returns the caller's jobs, newest first (one page of at most
// limit; see ListJobsPage).
func (c *Client) ListJobs(ctx context.Context, limit int) ([]Job, error) {
	list, _, err := c.ListJobsPage(ctx, limit, "")
	return list, err
}

// ListJobsPage returns one page of the caller's jobs, newest first: at
// most limit (0: the server's default, 100; it caps at 1000) jobs after
// the token after ("": the newest). next is the token of the following
// page, "" at the end.
func (c *Client) ListJobsPage(ctx context.Context, limit int, after string) (list []Job, next string, err error) {
	var out struct {
		Jobs []Job  `json:"jobs"`
		Next string `json:"next"`
	}
	err = c.do(ctx, http.MethodGet, "/api/v1/jobs?"+pageQuery(limit, after), nil, &out)
	return out.Jobs, out.Next, err
}

// CancelJob stops a job and returns its final state.
func (c *Client) CancelJob(ctx context.Context, id string) (*Job, error) {
	var j Job
	if err := c.do(ctx, http.MethodDelete, jobPath(id, ""), nil, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// JobOutputs lists a phase's outputs in task order (phase < 0: the last).
func (c *Client) JobOutputs(ctx context.Context, id string, phase int) ([]JobOutput, error) {
	p := jobPath(id, "/outputs")
	if phase >= 0 {
		p += "?phase=" + strconv.Itoa(phase)
	}
	var out struct {
		Outputs []JobOutput `json:"outputs"`
	}
	err := c.do(ctx, http.MethodGet, p, nil, &out)
	return out.Outputs, err
}

// JobErrors lists a job's failed tasks.
func (c *Client) JobErrors(ctx context.Context, id string) ([]JobTaskError, error) {
	var out struct {
		Errors []JobTaskError `json:"errors"`
	}
	err := c.do(ctx, http.MethodGet, jobPath(id, "/errors"), nil, &out)
	return out.Errors, err
}

// JobTasks lists every task of a job.
func (c *Client) JobTasks(ctx context.Context, id string) ([]JobTask, error) {
	var out struct {
		Tasks []JobTask `json:"tasks"`
	}
	err := c.do(ctx, http.MethodGet, jobPath(id, "/tasks"), nil, &out)
	return out.Tasks, err
}

// WatchJob follows a job's progress events (server-sent events), calling
// fn with each state, and returns the final state when the job ends.
func (c *Client) WatchJob(ctx context.Context, id string, fn func(*Job)) (*Job, error) {
	// A job lasts as long as it lasts: no whole-request deadline.
	hc := &http.Client{Transport: c.http.Transport}
	resp, err := c.send(ctx, hc, http.MethodGet, jobPath(id, "/events"), nil, "text/event-stream")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		return nil, decodeError(resp, data)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxResponseBytes)
	var event string
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				if event == "error" {
					return nil, fmt.Errorf("client: job events: %s", strings.Trim(data.String(), `"`))
				}
				var j Job
				if err := json.Unmarshal(data.Bytes(), &j); err != nil {
					return nil, fmt.Errorf("client: decode job event: %w", err)
				}
				if fn != nil {
					fn(&j)
				}
				if event == "end" || j.Done() {
					return &j, nil
				}
			}
			event = ""
			data.Reset()
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("client: job events: %w", err)
	}
	return nil, fmt.Errorf("client: job events ended before the job")
}
