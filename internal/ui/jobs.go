package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/jobs"
	"github.com/insitu-cloud/insitu/internal/runs"
)

// Jobs is what the dashboard needs of the jobs service (*jobs.Service):
// the calls the native API makes, under the same ownership rule (another
// account's job is jobs.ErrNoSuchJob).
type Jobs interface {
	Submit(ctx context.Context, account string, spec jobs.Spec) (*jobs.Job, error)
	List(ctx context.Context, account string, limit int, after string) ([]jobs.Job, string, error)
	Get(ctx context.Context, account, id string) (*jobs.Job, error)
	Tasks(ctx context.Context, account, id string) ([]jobs.Task, error)
	Outputs(ctx context.Context, account, id string, phase int) ([]jobs.Output, error)
	Cancel(ctx context.Context, account, id string) (*jobs.Job, error)
}

// Job page bounds: jobsPageSize jobs a list page, and at most jobTasksShown
// tasks and jobOutputsShown outputs on a job's page.
const (
	jobsPageSize    = 50
	jobTasksShown   = 100
	jobOutputsShown = 100
)

var errNoJobs = &userError{status: http.StatusNotFound, msg: "This node does not run jobs."}

// jobError words the jobs service's errors.
func jobError(err error) error {
	switch {
	case errors.Is(err, jobs.ErrNoSuchJob):
		return &userError{status: http.StatusNotFound, msg: "You have no job with that id."}
	case errors.Is(err, jobs.ErrTooManyJobs):
		return &userError{status: http.StatusServiceUnavailable, msg: "You have too many jobs running. Wait for one to end."}
	case errors.Is(err, jobs.ErrClosed):
		return &userError{status: http.StatusServiceUnavailable, msg: "The node is shutting down."}
	case errors.Is(err, runs.ErrBadRequest):
		return &userError{status: http.StatusBadRequest, msg: "The job was refused: " + strings.TrimPrefix(err.Error(), "runs: bad request: ")}
	}
	return err
}

// jobList shows the caller's jobs, newest first, with the start form.
func (h *Handler) jobList(c *call) error {
	if h.cfg.Jobs == nil {
		return errNoJobs
	}
	list, next, err := h.cfg.Jobs.List(c.ctx, c.s.accountID, jobsPageSize, c.r.URL.Query().Get("after"))
	if err != nil {
		return jobError(err)
	}
	data := struct {
		Jobs []jobs.Job
		Next string
		Form jobForm
	}{list, next, jobForm{Map: "sortu -w -c", Reduce: "sum", Reducers: "1"}}
	return h.render(c, http.StatusOK, "jobs", view{Title: "Jobs", Nav: "jobs", Data: data})
}

// jobForm is the start form's fields, echoed back when refused.
type jobForm struct {
	Map, Reduce, Reducers, Input, Out, Spec string
	Partition                               bool
}

// startJob submits the form's job: a pasted JSON spec (the one `insitu job
// run -f` sends) when given, else a map (and optional reduce) over an input.
func (h *Handler) startJob(c *call) error {
	if h.cfg.Jobs == nil {
		return errNoJobs
	}
	f := jobForm{Map: c.r.PostFormValue("map"), Reduce: c.r.PostFormValue("reduce"), Reducers: c.r.PostFormValue("reducers"),
		Input: strings.TrimSpace(c.r.PostFormValue("input")), Out: strings.TrimSpace(c.r.PostFormValue("out")),
		Spec: c.r.PostFormValue("spec"), Partition: c.r.PostFormValue("partition") != ""}
	spec, err := f.spec()
	if err == nil {
		var j *jobs.Job
		if j, err = h.cfg.Jobs.Submit(c.ctx, c.s.accountID, spec); err == nil {
			http.Redirect(c.w, c.r, "/ui/jobs/"+url.PathEscape(j.ID), http.StatusSeeOther)
			return nil
		}
	}
	status, msg := h.explain(c, jobError(err))
	data := struct {
		Jobs []jobs.Job
		Next string
		Form jobForm
	}{Form: f}
	return h.render(c, status, "jobs", view{Title: "Jobs", Nav: "jobs", Error: msg, Data: data})
}

// spec builds the job spec from the form.
func (f jobForm) spec() (jobs.Spec, error) {
	var spec jobs.Spec
	if strings.TrimSpace(f.Spec) != "" {
		d := json.NewDecoder(bytes.NewReader([]byte(f.Spec)))
		d.DisallowUnknownFields()
		if err := d.Decode(&spec); err != nil {
			return spec, &userError{status: http.StatusBadRequest, msg: "The job spec is not valid JSON: " + err.Error()}
		}
		return spec, nil
	}
	mapApp := strings.Fields(f.Map)
	if len(mapApp) == 0 || f.Input == "" {
		return spec, &userError{status: http.StatusBadRequest, msg: "Name a map app and an input (s3://bucket/prefix/), or paste a job spec."}
	}
	spec.Inputs, spec.Out = strings.Fields(f.Input), f.Out
	spec.Phases = []jobs.Phase{{Type: jobs.Map, App: mapApp[0], Args: mapApp[1:]}}
	if red := strings.Fields(f.Reduce); len(red) > 0 {
		n, err := strconv.Atoi(cmpOr(strings.TrimSpace(f.Reducers), "1"))
		if err != nil {
			return spec, &userError{status: http.StatusBadRequest, msg: "Reducers is a number."}
		}
		spec.Phases = append(spec.Phases, jobs.Phase{Type: jobs.Reduce, App: red[0], Args: red[1:], Reducers: n, Partition: f.Partition})
	}
	return spec, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cancelJob cancels one of the caller's jobs.
func (h *Handler) cancelJob(c *call) error {
	if h.cfg.Jobs == nil {
		return errNoJobs
	}
	j, err := h.cfg.Jobs.Cancel(c.ctx, c.s.accountID, c.r.PathValue("id"))
	if err != nil {
		return jobError(err)
	}
	http.Redirect(c.w, c.r, "/ui/jobs/"+url.PathEscape(j.ID), http.StatusSeeOther)
	return nil
}

// jobState is what the job page and its live fragment show.
type jobState struct {
	Job     *jobs.Job
	Graph   phaseGraph
	Tasks   []jobs.Task
	More    int // tasks not shown
	Outputs []outputLink
	Elapsed string
}

// loadJobState reads the job, its tasks (the first jobTasksShown) and, once
// it is done, its last phase's outputs.
func (h *Handler) loadJobState(ctx context.Context, account, id string) (*jobState, error) {
	if h.cfg.Jobs == nil {
		return nil, errNoJobs
	}
	j, err := h.cfg.Jobs.Get(ctx, account, id)
	if err != nil {
		return nil, jobError(err)
	}
	ts, err := h.cfg.Jobs.Tasks(ctx, account, id)
	if err != nil {
		return nil, jobError(err)
	}
	st := &jobState{Job: j, Graph: jobGraph(j), Tasks: ts}
	if len(ts) > jobTasksShown {
		st.Tasks, st.More = ts[:jobTasksShown], len(ts)-jobTasksShown
	}
	if !j.Started.IsZero() {
		end := j.Ended
		if end.IsZero() {
			end = time.Now()
		}
		st.Elapsed = end.Sub(j.Started).Round(time.Millisecond).String()
	}
	if j.State.Done() {
		outs, err := h.cfg.Jobs.Outputs(ctx, account, id, -1)
		if err != nil {
			return nil, jobError(err)
		}
		for i, o := range outs {
			if i == jobOutputsShown {
				break
			}
			st.Outputs = append(st.Outputs, outputLink{URL: o.Object, Href: objectHref(o.Object)})
		}
	}
	return st, nil
}

// jobDetail shows one job; job.js polls its fragment until it ends.
func (h *Handler) jobDetail(c *call) error {
	st, err := h.loadJobState(c.ctx, c.s.accountID, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "job", view{Title: "Job " + st.Job.ID, Nav: "jobs", Data: st})
}

// jobFragment is the live part of a job's page, as HTML, for job.js.
func (h *Handler) jobFragment(c *call) error {
	st, err := h.loadJobState(c.ctx, c.s.accountID, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.renderFragment(c, "job", "progress", st)
}
