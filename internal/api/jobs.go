package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/insitu-cloud/insitu/internal/jobs"
)

// routeJobs serves the jobs API when the node runs jobs.
func (h *Handler) routeJobs(js Jobs) {
	if js == nil {
		return
	}
	a := jobsAPI{js: js}
	h.route("POST /api/v1/jobs", "SubmitJob", false, a.submit)
	h.route("GET /api/v1/jobs", "ListJobs", false, a.list)
	h.route("GET /api/v1/jobs/{id}", "GetJob", false, a.get)
	h.route("GET /api/v1/jobs/{id}/tasks", "ListJobTasks", false, a.tasks)
	h.route("GET /api/v1/jobs/{id}/outputs", "ListJobOutputs", false, a.outputs)
	h.route("GET /api/v1/jobs/{id}/errors", "ListJobErrors", false, a.errors)
	h.route("GET /api/v1/jobs/{id}/events", "WatchJob", false, a.events)
	h.route("DELETE /api/v1/jobs/{id}", "CancelJob", false, a.cancel)
}

type jobsAPI struct{ js Jobs }

// jobError maps the jobs service's own errors; the rest go to appError.
func jobError(err error) error {
	switch {
	case errors.Is(err, jobs.ErrNoSuchJob):
		return &Error{Status: http.StatusNotFound, Code: "NoSuchJob", Message: "no such job"}
	case errors.Is(err, jobs.ErrTooManyJobs):
		return &Error{Status: http.StatusServiceUnavailable, Code: "SlowDown", Message: err.Error()}
	case errors.Is(err, jobs.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "the node is shutting down"}
	}
	return err
}

func (a jobsAPI) submit(c *call) error {
	var spec jobs.Spec
	if err := decode(c, &spec); err != nil {
		return err
	}
	j, err := a.js.Submit(c.ctx, c.account.ID, spec)
	if err != nil {
		return jobError(err)
	}
	writeJSON(c.w, http.StatusCreated, j)
	return nil
}

func (a jobsAPI) list(c *call) error {
	limit, after, err := pageParams(c)
	if err != nil {
		return err
	}
	list, next, err := a.js.List(c.ctx, c.account.ID, limit, after)
	if err != nil {
		return jobError(err)
	}
	writeJSON(c.w, http.StatusOK, pageBody("jobs", list, next))
	return nil
}

func (a jobsAPI) get(c *call) error {
	j, err := a.js.Get(c.ctx, c.account.ID, c.r.PathValue("id"))
	if err != nil {
		return jobError(err)
	}
	writeJSON(c.w, http.StatusOK, j)
	return nil
}

func (a jobsAPI) tasks(c *call) error {
	ts, err := a.js.Tasks(c.ctx, c.account.ID, c.r.PathValue("id"))
	if err != nil {
		return jobError(err)
	}
	if ts == nil {
		ts = []jobs.Task{}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"tasks": ts})
	return nil
}

func (a jobsAPI) outputs(c *call) error {
	phase := -1
	if p := c.r.URL.Query().Get("phase"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return &Error{Status: http.StatusBadRequest, Code: "InvalidRequest", Message: "phase must be a phase number"}
		}
		phase = n
	}
	outs, err := a.js.Outputs(c.ctx, c.account.ID, c.r.PathValue("id"), phase)
	if err != nil {
		return jobError(err)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"outputs": outs})
	return nil
}

func (a jobsAPI) errors(c *call) error {
	errs, err := a.js.Errors(c.ctx, c.account.ID, c.r.PathValue("id"))
	if err != nil {
		return jobError(err)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"errors": errs})
	return nil
}

func (a jobsAPI) cancel(c *call) error {
	j, err := a.js.Cancel(c.ctx, c.account.ID, c.r.PathValue("id"))
	if err != nil {
		return jobError(err)
	}
	writeJSON(c.w, http.StatusOK, j)
	return nil
}

// eventsInterval is the least time between two progress events.
const eventsInterval = 200 * time.Millisecond

// events streams the job's progress as server-sent events: "progress"
// events carrying the job summary as JSON, then one "end" event with the
// final summary. ?interval=500ms slows the stream.
func (a jobsAPI) events(c *call) error {
	id := c.r.PathValue("id")
	if _, err := a.js.Get(c.ctx, c.account.ID, id); err != nil {
		return jobError(err)
	}
	interval := eventsInterval
	if s := c.r.URL.Query().Get("interval"); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d >= 10*time.Millisecond {
			interval = d
		}
	}
	rc := http.NewResponseController(c.w)
	c.w.Header().Set("Content-Type", "text/event-stream")
	c.w.Header().Set("Cache-Control", "no-cache")
	c.w.WriteHeader(http.StatusOK)
	err := a.js.Watch(c.ctx, c.account.ID, id, interval, func(j jobs.Job) error {
		ev := "progress"
		if j.State.Done() {
			ev = "end"
		}
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(c.w, "event: %s\ndata: %s\n\n", ev, b); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil && c.ctx.Err() == nil {
		// The stream has begun: an error can only end it.
		_, _ = fmt.Fprintf(c.w, "event: error\ndata: %q\n\n", err.Error())
	}
	return nil
}
