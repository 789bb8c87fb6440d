package jobs

import (
	"time"
)

// State is where a job or a task is in its life.
type State string

// Job and task states.
const (
	Queued    State = "queued"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Cancelled State = "cancelled"
	// Pending is a task not started yet.
	Pending State = "pending"
)

// Done reports whether s is final.
func (s State) Done() bool { return s == Succeeded || s == Failed || s == Cancelled }

// Job is a job's summary: what GET /api/v1/jobs/{id} returns.
type Job struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	State   State  `json:"state"`
	// Error says why the job failed or was cancelled.
	Error string `json:"error,omitempty"`
	Spec  Spec   `json:"spec"`
	// Out is the prefix the outputs are under (s3://B/PREFIX/).
	Out     string        `json:"out"`
	Created time.Time     `json:"created"`
	Started time.Time     `json:"started,omitzero"`
	Ended   time.Time     `json:"ended,omitzero"`
	Phases  []PhaseStatus `json:"phases"`
	// BytesIn and BytesOut add up every task's stdin and /in reads, and
	// stdout and /out writes.
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	// Errors are the first failed tasks (at most MaxSummaryErrors; the
	// errors listing has them all).
	Errors []TaskError `json:"errors,omitempty"`
}

// MaxSummaryErrors bounds Job.Errors.
const MaxSummaryErrors = 20

// PhaseStatus counts a phase's tasks by state.
type PhaseStatus struct {
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

// Task is one run of a phase (retried runs included).
type Task struct {
	Phase int   `json:"phase"`
	Index int   `json:"index"`
	State State `json:"state"`
	// Input is the object a map task reads.
	Input string `json:"input,omitempty"`
	// Node is where the scheduler placed the task.
	Node string `json:"node,omitempty"`
	// Attempts counts the runs; Records are their run record ids.
	Attempts int      `json:"attempts,omitempty"`
	Records  []string `json:"records,omitempty"`
	// Output is the task's stdout object; Stderr its stderr object, when
	// the task wrote to stderr.
	Output   string `json:"output,omitempty"`
	Stderr   string `json:"stderr,omitempty"`
	Status   string `json:"status,omitempty"` // the last run's sandbox status
	ExitCode int    `json:"exit_code,omitempty"`
	Error    string `json:"error,omitempty"`
	BytesIn  int64  `json:"bytes_in,omitempty"`
	BytesOut int64  `json:"bytes_out,omitempty"`
	// StdoutBytes is the size of Output.
	StdoutBytes int64     `json:"stdout_bytes,omitempty"`
	Started     time.Time `json:"started,omitzero"`
	Ended       time.Time `json:"ended,omitzero"`
}

// TaskError is a failed task.
type TaskError struct {
	Phase  int    `json:"phase"`
	Index  int    `json:"index"`
	Input  string `json:"input,omitempty"`
	Error  string `json:"error"`
	Stderr string `json:"stderr,omitempty"` // the stderr object, if any
	Output string `json:"output,omitempty"` // the partial output kept
	Record string `json:"record,omitempty"` // the last run's record id
}

// Output is one task's output object.
type Output struct {
	Phase  int    `json:"phase"`
	Index  int    `json:"index"`
	State  State  `json:"state"`
	Object string `json:"object"`
	Size   int64  `json:"size"`
}

func (t *Task) taskError() TaskError {
	e := TaskError{Phase: t.Phase, Index: t.Index, Input: t.Input, Error: t.Error, Stderr: t.Stderr, Output: t.Output}
	if n := len(t.Records); n > 0 {
		e.Record = t.Records[n-1]
	}
	return e
}
