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

// namer returns a lookup of account names by id that remembers what it
// found, so showing a list whose items share owners reads each name once.
func (h *Handler) namer(ctx context.Context) func(id string) string {
	seen := map[string]string{}
	return func(id string) string {
		if name, ok := seen[id]; ok {
			return name
		}
		name, err := h.accounts.NameOf(ctx, id)
		if err != nil {
			name = id
		}
		seen[id] = name
		return name
	}
}

// showRef names the owner of an "owner/rest" reference.
func showRef(name func(string) string, ref string) string {
	if owner, rest, ok := strings.Cut(ref, "/"); ok {
		return name(owner) + "/" + rest
	}
	return ref
}

func showApp(name func(string) string, a apps.App) apps.App {
	a.Owner = name(a.Owner)
	return a
}

func showService(name func(string) string, s services.Service) services.Service {
	s.Owner = name(s.Owner)
	s.App = showRef(name, s.App)
	return s
}

// showRecord returns a copy of rec naming its account and its app's
// owner by name.
func showRecord(name func(string) string, rec *runs.Record) *runs.Record {
	out := *rec
	out.Account = name(rec.Account)
	out.App = showRef(name, rec.App)
	return &out
}

// holdings counts what the account with id owns: buckets, app versions,
// services and instances not terminated (run records and jobs are
// history and do not count).
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
	if h.instances != nil {
		if out.Instances, err = h.instances.Live(ctx, id); err != nil {
			return out, err
		}
	}
	return out, nil
}
