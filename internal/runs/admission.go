package runs

import (
	"errors"
	"fmt"

	"github.com/insitu-cloud/insitu/internal/admit"
)

// Errors of admission: the run was refused before it queued.
var (
	// ErrBusy means the account already has its share of runs waiting
	// (Config.PerAccountQueued); the faces answer 503 with Retry-After.
	ErrBusy = errors.New("runs: too many runs waiting for this account; retry later")
	// ErrShuttingDown means the node is closing and takes no new runs.
	ErrShuttingDown = errors.New("runs: the node is shutting down")
)

// AnonymousTenant is the admission tenant of unsigned requests to an
// account's public services: they share one queue share per owner,
// separate from the owner's own runs and from every other account.
func AnonymousTenant(owner string) string { return "anonymous:" + owner }

// tenant is whose share of the node a request is charged to: Tenant when
// set, else the account.
func (r *Request) tenant() string {
	if r.Tenant != "" {
		return r.Tenant
	}
	return r.Account
}

// admitError maps the admission queue's errors to this package's.
func admitError(err error) error {
	switch {
	case errors.Is(err, admit.ErrBusy):
		return ErrBusy
	case errors.Is(err, admit.ErrClosed):
		return ErrShuttingDown
	}
	return fmt.Errorf("runs: waiting for a sandbox: %w", err)
}

// Load reports the runs holding a sandbox slot and the runs waiting for
// one, over all accounts.
func (s *Service) Load() (running, waiting int) { return s.queue.Stats() }
