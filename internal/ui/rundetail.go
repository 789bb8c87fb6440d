package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// Resolver finds the app a run ran (*apps.Registry), for the limits it
// declares. Optional: without it the detail page shows the defaults.
type Resolver interface {
	Resolve(ctx context.Context, account, ref string) (apps.App, error)
}

// limitRow is one line of a run's limits table.
type limitRow struct{ Name, Value string }

// runDetail shows one of the caller's runs. Another account's id, or an
// unknown one, is 404.
func (h *Handler) runDetail(c *call) error {
	rec, err := h.cfg.Runs.Get(c.ctx, c.s.accountID, c.r.PathValue("id"))
	if errors.Is(err, runs.ErrNoSuchRun) {
		return &userError{status: http.StatusNotFound, msg: "You have no run with that id."}
	}
	if err != nil {
		return err
	}
	data := struct {
		Record  *runs.Record
		Limits  []limitRow
		Outputs []outputLink
	}{rec, h.runLimits(c.ctx, c.s.accountID, rec), outputLinks(rec.Outputs)}
	return h.render(c, http.StatusOK, "run", view{Title: "Run " + rec.ID, Nav: "runs", Data: data})
}

// runLimits are the limits the run's app declares over the defaults (a
// run's own overrides are not recorded, and the account's caps may lower
// them).
func (h *Handler) runLimits(ctx context.Context, account string, rec *runs.Record) []limitRow {
	l := sandbox.DefaultLimits()
	if h.cfg.Apps != nil {
		if app, err := h.cfg.Apps.Resolve(ctx, account, rec.App); err == nil {
			if al, err := app.Manifest.Limits.Apply(l); err == nil {
				l = al
			}
		}
	}
	return []limitRow{{"memory", humanBytes(l.Memory)}, {"timeout", l.Timeout.String()},
		{"stdout", humanBytes(l.StdoutBytes)}, {"stderr", humanBytes(l.StderrBytes)},
		{"/out", itoa(l.OutFiles) + " files, " + humanBytes(l.OutBytes)}, {"/tmp", itoa(l.TmpFiles) + " files, " + humanBytes(l.TmpBytes)}}
}

// outputLink is an s3:// URL and, when it names an object, its page.
type outputLink struct{ URL, Href string }

// outputLinks links each s3://B/K to its object page (a prefix to its
// listing).
func outputLinks(urls []string) []outputLink {
	out := make([]outputLink, 0, len(urls))
	for _, u := range urls {
		out = append(out, outputLink{URL: u, Href: objectHref(u)})
	}
	return out
}

// objectHref is the dashboard page of s3://B/K ("" if u is not one).
func objectHref(u string) string {
	ref, err := runs.ParseS3URL(u)
	if err != nil || ref.Bucket == "" {
		return ""
	}
	if ref.Key == "" || strings.HasSuffix(ref.Key, "/") {
		return "/ui/b/" + url.PathEscape(ref.Bucket) + "/?prefix=" + url.QueryEscape(ref.Key)
	}
	return "/ui/b/" + url.PathEscape(ref.Bucket) + "/object?key=" + url.QueryEscape(ref.Key)
}
