package ui

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/insitu-cloud/insitu/internal/jobs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// Recent failures on the overview: at most failuresShown, from the newest
// failuresRunsRead run records, failuresJobsRead jobs and the node's
// failed requests (obs.Recent).
const (
	failuresShown    = 10
	failuresRunsRead = 100
	failuresJobsRead = 50
)

// failureRow is one recent failure of the signed-in account.
type failureRow struct {
	Time   time.Time
	Kind   string // run, job or request
	What   string
	Detail string
	Href   string // "" when there is no page for it
}

// recentFailures gathers the account's failed runs, jobs and requests,
// newest first.
func (h *Handler) recentFailures(ctx context.Context, s session) ([]failureRow, error) {
	var out []failureRow
	if h.cfg.Runs != nil {
		list, _, err := h.cfg.Runs.List(ctx, s.accountID, failuresRunsRead, "")
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			if !r.OK() {
				out = append(out, failureRow{Time: r.Start, Kind: "run", What: r.App, Detail: runFailure(r.Status, r.ExitCode, r.Error), Href: "/ui/runs/" + r.ID})
			}
		}
	}
	if h.cfg.Jobs != nil {
		list, _, err := h.cfg.Jobs.List(ctx, s.accountID, failuresJobsRead, "")
		if err != nil {
			return nil, err
		}
		for _, j := range list {
			if j.State == jobs.Failed {
				out = append(out, failureRow{Time: cmp.Or(j.Ended, j.Created), Kind: "job", What: j.ID, Detail: j.Error, Href: "/ui/jobs/" + j.ID})
			}
		}
	}
	if h.cfg.Requests != nil {
		for _, f := range h.cfg.Requests.Failures(s.accountID, failuresShown) {
			out = append(out, failureRow{Time: f.Time, Kind: "request", What: f.Method + " " + f.Path,
				Detail: strconv.Itoa(f.Status) + " (" + f.API + " " + f.Op + ", request " + f.RequestID + ")"})
		}
	}
	slices.SortStableFunc(out, func(a, b failureRow) int { return b.Time.Compare(a.Time) })
	return out[:min(len(out), failuresShown)], nil
}

// runFailure says in words how a run failed.
func runFailure(status sandbox.Status, exit int, msg string) string {
	s := string(status) + ", exit " + strconv.Itoa(exit)
	if msg != "" {
		s += ": " + msg
	}
	return s
}
