package ui

import (
	"net/http"
	"strings"

	"github.com/insitu-cloud/insitu/internal/runs"
)

// runOutputMax caps the stdout and stderr a run shows in the page.
const runOutputMax = 1 << 20

// capped keeps the first max bytes written and drops the rest.
type capped struct {
	buf       []byte
	max       int
	truncated bool
}

func (b *capped) Write(p []byte) (int, error) {
	room := b.max - len(b.buf)
	if len(p) > room {
		b.truncated = true
		b.buf = append(b.buf, p[:max(room, 0)]...)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *capped) String() string {
	if b.truncated {
		return string(b.buf) + "\n[output cut at 1 MiB]"
	}
	return string(b.buf)
}

// runApp runs the form's app (with its space-separated args), or with
// the form's open the app the bucket binds to the object's type, with the
// object as stdin, through the runs service the native API uses, and
// shows stdout, stderr and the record on the object page.
func (h *Handler) runApp(c *call) error {
	key := c.r.PostFormValue("key")
	v, err := h.objectPage(c, key)
	if err != nil {
		return err
	}
	v.App, v.Args = strings.TrimSpace(c.r.PostFormValue("app")), c.r.PostFormValue("args")
	kind := "run"
	if c.r.PostFormValue("open") != "" {
		if v.Opener == "" {
			return &userError{status: http.StatusNotFound, msg: "No app is bound to open this object's type in this bucket."}
		}
		v.App, v.Args, kind = v.Opener, "", "open"
	}
	if v.App == "" {
		return &userError{status: http.StatusBadRequest, msg: "Name the app to run."}
	}
	stdout, stderr := &capped{max: runOutputMax}, &capped{max: runOutputMax}
	var args []string // nil: the manifest's default args
	if f := strings.Fields(v.Args); len(f) > 0 {
		args = f
	}
	req := runs.Request{Account: c.s.accountID, Kind: kind, App: v.App, Args: args,
		StdinObject: &runs.ObjectRef{Bucket: v.Bucket, Key: key}, Stdout: stdout, Stderr: stderr}
	rec, err := h.cfg.Runs.Run(c.ctx, req)
	if err != nil {
		return err
	}
	v.Run = &runResult{Record: rec, Stdout: stdout.String(), Stderr: stderr.String()}
	return h.render(c, http.StatusOK, "object", view{Title: baseName(key), Nav: "buckets", Data: v})
}
