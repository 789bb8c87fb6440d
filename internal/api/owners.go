package api

import (
	"context"
	"strings"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/services"
)

// Owners are stored as account ids; the API shows names, the handle users
// type (as in "owner/app"). An owner whose account is gone shows its id.

func (h *Handler) ownerName(ctx context.Context, id string) string {
	if name, err := h.accounts.NameOf(ctx, id); err == nil {
		return name
	}
	return id
}

func (h *Handler) showApp(ctx context.Context, a apps.App) apps.App {
	a.Owner = h.ownerName(ctx, a.Owner)
	return a
}

func (h *Handler) showService(ctx context.Context, s services.Service) services.Service {
	s.Owner = h.ownerName(ctx, s.Owner)
	if owner, rest, ok := strings.Cut(s.App, "/"); ok {
		s.App = h.ownerName(ctx, owner) + "/" + rest
	}
	return s
}

// showRecord returns a copy of rec naming its account and its app's
// owner by name.
func (h *Handler) showRecord(ctx context.Context, rec *runs.Record) *runs.Record {
	out := *rec
	out.Account = h.ownerName(ctx, rec.Account)
	if owner, rest, ok := strings.Cut(rec.App, "/"); ok {
		out.App = h.ownerName(ctx, owner) + "/" + rest
	}
	return &out
}

// holdings counts what the account with id owns: buckets, app versions
// and services (run records and jobs are history and do not count).
func (h *Handler) holdings(ctx context.Context, id string) (auth.Holdings, error) {
	var out auth.Holdings
	if h.engine != nil {
		all, err := h.engine.ListBuckets(ctx)
		if err != nil {
			return out, err
		}
		for _, b := range all {
			if auth.Owns(id, b.Owner) {
				out.Buckets++
			}
		}
	}
	list, err := h.apps.List(ctx, id, false)
	if err != nil {
		return out, err
	}
	out.Apps = len(list)
	svcs, err := h.services.List(ctx, id)
	if err != nil {
		return out, err
	}
	out.Services = len(svcs)
	return out, nil
}
