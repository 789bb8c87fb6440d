package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// inlineStdinMax is the largest known-length stdin sent inside the
// request instead of through a pipe.
const inlineStdinMax = 32 << 10

var hostNameRE = regexp.MustCompile(`^f[0-9]+$`)

func (c *call) sinceStart() time.Duration { return time.Since(c.start) }

// interpret turns what await gathered into the run's Result. healthy
// reports whether the worker can serve another run: not if anything
// killed it, even a kill that came after the result.
func (c *call) interpret() (*Result, bool, error) {
	res := &Result{ExitCode: -1, Cleanup: func() {}, Wall: c.sinceStart(),
		StdoutBytes: c.stdout.n, StderrBytes: c.stderr.n}
	if !c.got {
		c.removeOut()
		c.failed(res)
		return res, false, nil
	}
	wr := &c.wr
	c.p.lastCPU = wr.cumCPU
	if wr.ahead {
		c.r.aheadRuns.Add(1)
	}
	if wr.compiledOK {
		c.p.modules[c.spec.ModuleID] = struct{}{}
	}
	res.Status, res.Reason = wr.status, wr.reason
	if wr.status == StatusExited {
		res.ExitCode = int(wr.exitCode)
	}
	res.CPU = time.Duration(wr.cpu)
	res.PeakMemory = wr.peak
	res.StdinBytes, res.InputBytes, res.OutputBytes = wr.stdin, wr.input, wr.output
	if c.stdout.over || c.stderr.over {
		// The worker enforces the caps; this is the parent's backstop.
		res.Status, res.ExitCode, res.Reason = StatusQuota, -1, "output quota exceeded"
	}
	healthy := c.killed == killNone
	defer func() {
		clear(c.outs)
		c.p.outs = c.outs[:0]
	}()
	if res.Status != StatusExited || res.ExitCode != 0 || len(c.outs) == 0 {
		c.removeOut()
		return res, healthy, nil
	}
	res.Outputs = make([]Output, 0, len(c.outs))
	for _, o := range c.outs {
		if !hostNameRE.MatchString(o.host) {
			c.removeOut()
			return c.errResult("sandbox worker named an output %q", o.host), healthy, nil
		}
		res.Outputs = append(res.Outputs, Output{Path: o.path, Size: o.size, HostPath: filepath.Join(c.outDir, o.host)})
	}
	var once sync.Once
	res.Cleanup = func() { once.Do(c.removeOut) }
	return res, healthy, nil
}

// failed fills res for a run whose result never came: the worker was
// killed (c.killed says why) or died.
func (c *call) failed(res *Result) {
	p := c.p
	res.CPU = p.cpuOfDeath()
	switch c.killed {
	case killTimeout:
		res.Status, res.Reason = StatusTimeout, fmt.Sprintf("stopped at the time limit of %v", c.lim.Timeout)
	case killCancel:
		res.Status, res.Reason = StatusKilled, "cancelled"
		if err := context.Cause(c.ctx); err != nil {
			res.Reason += ": " + err.Error()
		}
	case killClose:
		res.Status, res.Reason = StatusKilled, "the sandbox runtime closed"
	case killOutput:
		res.Status = StatusError
		switch {
		case c.protoErr != nil:
			res.Reason = "sandbox worker protocol error: " + c.protoErr.Error()
		case c.stdout.err != nil:
			res.Reason = "writing stdout: " + c.stdout.err.Error()
		default:
			res.Reason = "writing stderr: " + c.stderr.err.Error()
		}
	default:
		res.Status, res.Reason = StatusError, fmt.Sprintf("sandbox worker %d died: %v", p.pid, p.cmd.ProcessState)
		c.r.log.Warn("sandbox worker died during a run", "pid", p.pid, "module", c.spec.ModuleID)
	}
}

// removeOut removes the run's /out directory, unless the worker reported
// that the run never created it (most runs: it saves the syscalls).
func (c *call) removeOut() {
	if !c.got || c.wr.outDirMade {
		os.RemoveAll(c.outDir)
	}
}

// smallReader reads r into buf when r is an in-memory reader of at most
// inlineStdinMax bytes.
func smallReader(r io.Reader, buf []byte) ([]byte, bool) {
	var n int
	switch x := r.(type) {
	case *bytes.Reader:
		n = x.Len()
	case *strings.Reader:
		n = x.Len()
	case *bytes.Buffer:
		n = x.Len()
	default:
		return buf, false
	}
	if n > inlineStdinMax {
		return buf, false
	}
	if cap(buf) < n {
		buf = make([]byte, 0, inlineStdinMax)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf[:0], false
	}
	return buf, true
}

// capWriter writes the guest's stream to the caller, at most limit bytes.
type capWriter struct {
	w     io.Writer
	limit int64
	n     int64
	over  bool
	err   error
}

func (c *capWriter) write(b []byte) error {
	if c.n+int64(len(b)) > c.limit {
		b = b[:max(0, c.limit-c.n)]
		c.over = true
	}
	c.n += int64(len(b))
	if c.w == nil || c.err != nil || len(b) == 0 {
		return c.err
	}
	_, c.err = c.w.Write(b)
	return c.err
}
