package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// smallInput is the stdin of one short run: n bytes of text, and the
// line wc must print for it.
func smallInput(n int) ([]byte, string) {
	b := make([]byte, n)
	newTextGen(7).fill(b)
	b[n-1] = '\n'
	var c wcCounter
	c.Write(b)
	return b, c.String() + "\n"
}

// runner runs wc once over the small input, with buf as scratch, and
// checks the output.
type runner func(ctx context.Context, out *bytes.Buffer) error

// insituWC runs wc.wasm on r with stdin from an in-memory reader (sent
// inline with the request).
func (e *benchEnv) insituWC(r *sandbox.Runtime, input []byte, want string) runner {
	spec := e.wc.spec()
	return func(ctx context.Context, out *bytes.Buffer) error {
		out.Reset()
		s := spec
		s.Stdin.Reader = bytes.NewReader(input)
		s.Stdout = out
		res, err := r.Run(ctx, s)
		return checkRun(res, err, out, want)
	}
}

// insituWCObject opens the stored object and runs wc.wasm with it as
// stdin: what a request for a small object costs end to end.
func (e *benchEnv) insituWCObject(r *sandbox.Runtime, st *local.Engine, bucket, key, want string) runner {
	spec := e.wc.spec()
	return func(ctx context.Context, out *bytes.Buffer) error {
		out.Reset()
		info, f, err := st.OpenFile(ctx, bucket, key)
		if err != nil {
			return err
		}
		defer f.Close()
		s := spec
		s.Stdin = sandbox.Stdin{File: f, Size: info.Size}
		s.Stdout = out
		res, err := r.Run(ctx, s)
		return checkRun(res, err, out, want)
	}
}

func checkRun(res *sandbox.Result, err error, out *bytes.Buffer, want string) error {
	if err != nil {
		return err
	}
	if res.Status != sandbox.StatusExited || res.ExitCode != 0 {
		return fmt.Errorf("run ended %s (exit %d): %s", res.Status, res.ExitCode, res.Reason)
	}
	if out.String() != want {
		return fmt.Errorf("wrong output %q, want %q", out.String(), want)
	}
	return nil
}

// nativeWC forks and execs the gcc build of wc.c with stdin from a
// bytes.Reader and stdout into a buffer (two pipes, as exec does).
func (e *benchEnv) nativeWC(input []byte, want string) runner {
	return func(ctx context.Context, out *bytes.Buffer) error {
		out.Reset()
		cmd := exec.Command(e.wc.native)
		cmd.Stdin = bytes.NewReader(input)
		cmd.Stdout = out
		if err := cmd.Run(); err != nil {
			return err
		}
		if out.String() != want {
			return fmt.Errorf("native wc: wrong output %q, want %q", out.String(), want)
		}
		return nil
	}
}

// latencyRounds interleaves the rows: each row runs its warm-up, then
// the rows take turns, a tenth of their runs at a time, so that a change
// in the machine's load touches them alike.
const latencyRounds = 10

// measureRow runs fn n times, one at a time, appending each run's time
// to d; it returns the time spent.
func measureRow(ctx context.Context, n int, fn runner, out *bytes.Buffer, d *[]time.Duration) (time.Duration, error) {
	t0 := time.Now()
	for range n {
		s := time.Now()
		if err := fn(ctx, out); err != nil {
			return 0, err
		}
		*d = append(*d, time.Since(s))
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	return time.Since(t0), nil
}

func (e *benchEnv) latency(ctx context.Context) error {
	cfg := e.cfg
	input, want := smallInput(cfg.inputSize)
	fmt.Printf("\nlatency: wc over %d bytes of stdin (%q), one caller, runs one after another, rows interleaved in %d rounds\n",
		len(input), strings.TrimSpace(want), latencyRounds)

	r, err := e.newRuntime(ctx, cfg.workers)
	if err != nil {
		return err
	}
	defer e.closeRuntime(r)

	// A small stored object for the stdin-from-object row, kept in a data
	// file (not inline in the index) so the row measures OpenFile and the
	// sandbox reading the file in place.
	st, err := local.OpenWith(ctx, filepath.Join(e.tmp, "latency-store"), local.Options{InlineMax: -1})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateBucket(ctx, store.BucketInfo{Name: "bench", Owner: "bench"}); err != nil {
		return err
	}
	if _, err := st.PutObject(ctx, "bench", "small.txt", bytes.NewReader(input), int64(len(input)), store.PutOptions{}); err != nil {
		return err
	}

	inproc, closeInproc, err := e.inProcessWC(ctx, input, want)
	if err != nil {
		return err
	}
	defer closeInproc()

	nativeWarm := max(1, cfg.warmup/10)
	all := []latencyRow{
		{"memory", "insitu: Runtime.Run, stdin from memory", cfg.warmup, cfg.n, e.insituWC(r, input, want)},
		{"object", "insitu: OpenFile + Runtime.Run, stdin = stored object", cfg.warmup, cfg.n, e.insituWCObject(r, st, "bench", "small.txt", want)},
		{"native", "native: fork+exec of " + cfg.cc + " build, stdin from memory", nativeWarm, cfg.nativeN, e.nativeWC(input, want)},
		{"inprocess", "reference: wazero in this process, no worker (no termination guarantee)", cfg.warmup, cfg.n, inproc},
	}
	var rows []latencyRow
	for _, row := range all {
		if cfg.rows == nil || cfg.rows[row.key] {
			rows = append(rows, row)
		}
	}
	var out bytes.Buffer
	samples := make([][]time.Duration, len(rows))
	spent := make([]time.Duration, len(rows))
	for _, row := range rows {
		var discard []time.Duration
		if _, err := measureRow(ctx, row.warmup, row.fn, &out, &discard); err != nil {
			return fmt.Errorf("%s: %w", row.name, err)
		}
	}
	for round := range latencyRounds {
		for i, row := range rows {
			n := row.n*(round+1)/latencyRounds - row.n*round/latencyRounds
			d, err := measureRow(ctx, n, row.fn, &out, &samples[i])
			if err != nil {
				return fmt.Errorf("%s: %w", row.name, err)
			}
			spent[i] += d
		}
	}
	res := make([]latencies, len(rows))
	for i := range rows {
		res[i] = summarize(samples[i], spent[i])
	}

	t := &table{
		title:  fmt.Sprintf("Start latency: whole run of wc over %d B (Workers=%d, %d CPUs)", len(input), cfg.workers, runtime.NumCPU()),
		header: []string{"path", "runs", "p50", "p90", "p99", "max", "mean", "runs/s (1 caller)"},
	}
	for i, row := range rows {
		l := res[i]
		t.add(row.name, fmt.Sprint(l.n), us(l.p50), us(l.p90), us(l.p99), us(l.max), us(l.mean), fmt.Sprintf("%.0f", l.perSecond))
	}
	if len(rows) == len(all) {
		ins, obj, nat := res[0], res[1], res[2]
		sp := float64(nat.p50) / float64(ins.p50)
		t.note("fork+exec p50 / insitu p50 = %s (stdin from memory); %s (stdin = stored object)",
			ratio(sp), ratio(float64(nat.p50)/float64(obj.p50)))
		t.note("goal insitu p50 <= 50 µs: %s (%s); goal >= 15x faster than fork+exec (issue 13): %s (%s)",
			verdict(ins.p50 <= 50*time.Microsecond), us(ins.p50), verdict(sp >= 15), ratio(sp))
	}
	t.print(cfg.markdown)
	return nil
}

// latencyRow is one row of the latency table; key names it for -rows.
type latencyRow struct {
	key    string
	name   string
	warmup int
	n      int
	fn     runner
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}
