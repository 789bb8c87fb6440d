package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// Run list bounds: runsPageSize matches a page, at most runsScanMax
// records read to find them (the first read runsPageSize+1, each next one
// twice as many, up to runsScanChunk), so an unfiltered page reads little
// and a filter that matches little still answers quickly; the page then
// offers to search on.
const (
	runsPageSize  = 50
	runsScanMax   = 1000
	runsScanChunk = 400
)

// timeLayout is the form's datetime-local value, read as UTC.
const timeLayout = "2006-01-02T15:04"

// runFilter is the run list's query: every field optional.
type runFilter struct {
	App, Status, Node string
	Since, Until      time.Time
	After             string // the last run id of the previous page
}

// parseRunFilter reads the query; a malformed time is a user error.
func parseRunFilter(q url.Values) (runFilter, error) {
	f := runFilter{App: strings.TrimSpace(q.Get("app")), Status: q.Get("status"), Node: strings.TrimSpace(q.Get("node")), After: q.Get("after")}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		s := strings.TrimSpace(q.Get(t.name))
		if s == "" {
			continue
		}
		v, err := time.Parse(timeLayout, s)
		if err != nil {
			return f, &userError{status: http.StatusBadRequest, msg: "A time is written as 2026-11-30T14:05 (UTC)."}
		}
		*t.to = v
	}
	if f.Until.IsZero() || f.After != "" {
		return f, nil
	}
	// Run ids are UUIDv7: start just past the last id of Until's minute.
	f.After = idAt(f.Until.Add(time.Minute))
	return f, nil
}

// idAt is the smallest UUIDv7 of millisecond t: every id started before t
// sorts below it.
func idAt(t time.Time) string {
	ms := uint64(max(t.UnixMilli(), 0))
	const hex = "0123456789abcdef"
	b := make([]byte, 12)
	for i := 11; i >= 0; i-- {
		b[i] = hex[ms&15]
		ms >>= 4
	}
	return string(b[:8]) + "-" + string(b[8:]) + "-0000-0000-000000000000"
}

// match reports whether rec passes the filter.
func (f runFilter) match(rec *runs.Record) bool {
	if f.App != "" && !strings.Contains(rec.App, f.App) {
		return false
	}
	if f.Node != "" && rec.Node != f.Node {
		return false
	}
	if !f.Until.IsZero() && !rec.Start.Before(f.Until.Add(time.Minute)) {
		return false
	}
	switch f.Status {
	case "":
	case "ok":
		return rec.OK()
	case "failed":
		return !rec.OK()
	default:
		return string(rec.Status) == f.Status
	}
	return true
}

// query is the filter as a query string without the page token.
func (f runFilter) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"app": f.App, "status": f.Status, "node": f.Node} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(timeLayout))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(timeLayout))
	}
	return q.Encode()
}

// runPage is one page of the run list.
type runPage struct {
	Runs    []runs.Record
	Next    string // the page token of the next page, "" at the end
	Scanned int
	Partial bool // the scan budget ran out before the page filled
}

// findRuns reads account's runs newest first from f.After and keeps those
// that match, until runsPageSize match, runsScanMax are read, or the runs
// end (or fall before Since: ids sort by start).
func (h *Handler) findRuns(ctx context.Context, account string, f runFilter) (runPage, error) {
	var p runPage
	after, chunk := f.After, runsPageSize+1
	for p.Scanned < runsScanMax {
		list, next, err := h.cfg.Runs.List(ctx, account, min(chunk, runsScanMax-p.Scanned), after)
		if err != nil {
			return p, err
		}
		for i := range list {
			rec := &list[i]
			p.Scanned++
			if !f.Since.IsZero() && rec.Start.Before(f.Since) {
				return p, nil
			}
			if f.match(rec) {
				p.Runs = append(p.Runs, *rec)
			}
			if len(p.Runs) == runsPageSize || p.Scanned == runsScanMax {
				if i < len(list)-1 || next != "" {
					p.Next, p.Partial = rec.ID, len(p.Runs) < runsPageSize
				}
				return p, nil
			}
		}
		if next == "" {
			return p, nil
		}
		after, chunk = next, min(chunk*2, runsScanChunk)
	}
	return p, nil
}

// runStatuses are the status filter's choices.
var runStatuses = []string{"ok", "failed", string(sandbox.StatusExited), string(sandbox.StatusTimeout), string(sandbox.StatusMemory),
	string(sandbox.StatusQuota), string(sandbox.StatusTrap), string(sandbox.StatusKilled), string(sandbox.StatusError)}

// runList shows the caller's runs, filtered, with a plot of durations.
func (h *Handler) runList(c *call) error {
	f, err := parseRunFilter(c.r.URL.Query())
	if err != nil {
		return err
	}
	p, err := h.findRuns(c.ctx, c.s.accountID, f)
	if err != nil {
		return err
	}
	data := struct {
		runPage
		Filter   runFilter
		Query    string
		Statuses []string
		Since    string
		Until    string
		Plot     plot
	}{runPage: p, Filter: f, Query: f.query(), Statuses: runStatuses, Plot: durationPlot(p.Runs)}
	if !f.Since.IsZero() {
		data.Since = f.Since.Format(timeLayout)
	}
	if !f.Until.IsZero() {
		data.Until = f.Until.Format(timeLayout)
	}
	return h.render(c, http.StatusOK, "runs", view{Title: "Runs", Nav: "runs", Data: data})
}
