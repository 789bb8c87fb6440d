package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// RunSpec asks for one run (POST /api/v1/runs).
type RunSpec struct {
	App           string            `json:"app"`
	Args          []string          `json:"args,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	Stdin         string            `json:"stdin,omitempty"`
	StdinData     string            `json:"stdin_data,omitempty"`
	Stdout        string            `json:"stdout,omitempty"`
	Stderr        string            `json:"stderr,omitempty"`
	Inputs        []RunInput        `json:"inputs,omitempty"`
	Out           string            `json:"out,omitempty"`
	Limits        map[string]string `json:"limits,omitempty"` // "memory": "64MiB", "timeout": "10s"
	Deterministic bool              `json:"deterministic,omitempty"`
	Seed          int64             `json:"seed,omitempty"`
	Detach        bool              `json:"detach,omitempty"`
}

// RunInput mounts an object under /in.
type RunInput struct {
	Object string `json:"object"`
	Path   string `json:"path,omitempty"`
}

// RunRecord is the accounting line of a run.
type RunRecord struct {
	ID          string    `json:"id"`
	Account     string    `json:"account"`
	App         string    `json:"app"`
	Digest      string    `json:"digest"`
	Node        string    `json:"node"`
	Kind        string    `json:"kind"`
	Start       time.Time `json:"start"`
	QueuedMS    float64   `json:"queued_ms,omitempty"`
	WallMS      float64   `json:"wall_ms"`
	CPUMS       float64   `json:"cpu_ms"`
	Status      string    `json:"status"`
	ExitCode    int       `json:"exit_code"`
	Error       string    `json:"error,omitempty"`
	PeakMemory  int64     `json:"peak_memory"`
	StdinBytes  int64     `json:"stdin_bytes"`
	StdoutBytes int64     `json:"stdout_bytes"`
	StderrBytes int64     `json:"stderr_bytes"`
	InputBytes  int64     `json:"input_bytes"`
	OutputBytes int64     `json:"output_bytes"`
	Outputs     []string  `json:"outputs,omitempty"`
}

// runStreamType is the framed media type of a streamed run (see
// internal/api): one type byte ('1' stdout, '2' stderr, 'R' record,
// 'E' error), a 4-byte big-endian length, the payload.
const runStreamType = "application/vnd.insitu.run-stream"

// maxFrame bounds one frame of a run stream.
const maxFrame = 16 << 20

// Run executes spec, copying the guest's stdout and stderr to the writers
// as they arrive, and returns the run's record.
func (c *Client) Run(ctx context.Context, spec RunSpec, stdout, stderr io.Writer) (*RunRecord, error) {
	// A run lasts as long as its own timeout: no whole-request deadline.
	hc := &http.Client{Transport: c.http.Transport}
	resp, err := c.send(ctx, hc, http.MethodPost, "/api/v1/runs", spec, runStreamType)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		return nil, decodeError(resp, data)
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, fmt.Errorf("client: run stream ended early: %w", err)
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > maxFrame {
			return nil, fmt.Errorf("client: run stream frame of %d bytes", n)
		}
		switch hdr[0] {
		case '1', '2':
			w := stdout
			if hdr[0] == '2' {
				w = stderr
			}
			if w == nil {
				w = io.Discard
			}
			if _, err := io.CopyN(w, br, int64(n)); err != nil {
				return nil, err
			}
		case 'R', 'E':
			data := make([]byte, n)
			if _, err := io.ReadFull(br, data); err != nil {
				return nil, err
			}
			if hdr[0] == 'E' {
				var e Error
				_ = json.Unmarshal(data, &e)
				e.StatusCode = resp.StatusCode
				return nil, &e
			}
			var rec RunRecord
			if err := json.Unmarshal(data, &rec); err != nil {
				return nil, fmt.Errorf("client: decode run record: %w", err)
			}
			return &rec, nil
		default:
			return nil, fmt.Errorf("client: unknown run stream frame %q", hdr[0])
		}
	}
}

// StartRun starts spec in the background and returns the run id.
func (c *Client) StartRun(ctx context.Context, spec RunSpec) (string, error) {
	spec.Detach = true
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/runs", spec, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// ListRuns returns the caller's latest runs, newest first (one page of
// at most limit; see ListRunsPage).
func (c *Client) ListRuns(ctx context.Context, limit int) ([]RunRecord, error) {
	list, _, err := c.ListRunsPage(ctx, limit, "")
	return list, err
}

// ListRunsPage returns one page of the caller's runs, newest first: at
// most limit (0: the server's default, 100; it caps at 1000) runs after
// the token after ("": the newest). next is the token of the following
// page, "" at the end.
func (c *Client) ListRunsPage(ctx context.Context, limit int, after string) (list []RunRecord, next string, err error) {
	var out struct {
		Runs []RunRecord `json:"runs"`
		Next string      `json:"next"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/runs?"+pageQuery(limit, after), nil, &out); err != nil {
		return nil, "", err
	}
	return out.Runs, out.Next, nil
}

// pageQuery encodes a listing's limit and continuation token.
func pageQuery(limit int, after string) string {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if after != "" {
		q.Set("after", after)
	}
	return q.Encode()
}

// GetRun returns one run's record.
func (c *Client) GetRun(ctx context.Context, id string) (*RunRecord, error) {
	var rec RunRecord
	if err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+id, nil, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}
