package runs

import (
	"context"
	"time"

	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// Detach starts req in the background and returns its id at once. It
// refuses, before anything is queued, what Run would refuse up front
// (unknown app, a bucket the account does not own, ErrBusy when the
// account's queue is full). A detached run that later cannot start (an
// input deleted meanwhile, the node shutting down) still leaves a record,
// with status error and the reason.
//
// Detached runs belong to the Service: Close waits for them.
func (s *Service) Detach(ctx context.Context, req Request) (string, error) {
	app, err := s.prepare(ctx, &req)
	if err != nil {
		return "", err
	}
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgClosed {
		return "", ErrShuttingDown
	}
	tk, err := s.queue.Enqueue(req.tenant())
	if err != nil {
		return "", admitError(err)
	}
	// The run outlives the request (keeping its logger) until Close
	// cancels it.
	rctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(s.bgCtx, func() { cancel(context.Cause(s.bgCtx)) })
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer cancel(nil)
		defer stop()
		defer tk.Release()
		queued := time.Now()
		if err := tk.Wait(rctx); err != nil {
			s.failDetached(rctx, app.Owner+"/"+app.Ref(), req, admitError(err))
			return
		}
		rec, err := s.execute(rctx, app, req, time.Since(queued), tk.Release)
		if err != nil {
			s.failDetached(rctx, app.Owner+"/"+app.Ref(), req, err)
			return
		}
		s.save(rctx, rec)
	}()
	return req.ID, nil
}

// failDetached records a detached run that could not start.
func (s *Service) failDetached(ctx context.Context, app string, req Request, err error) {
	obs.LoggerOr(ctx, s.log).Warn("detached run could not start", "id", req.ID, "err", err)
	rec := &Record{ID: req.ID, Account: req.Account, App: app, Node: s.node, Kind: req.Kind,
		Start: time.Now().UTC(), Status: sandbox.StatusError, ExitCode: -1, Error: "the run could not start: " + err.Error()}
	s.finish(ctx, rec)
}

// Close stops taking runs and drains the detached ones: it waits for them
// until ctx ends, then cancels the rest (they end killed, with a record)
// and waits for their records. Synchronous runs belong to their callers
// (the HTTP server drains them). Last it stops the record committer once
// every record accepted so far is written (a record after that is
// written on its own). Close is idempotent.
func (s *Service) Close(ctx context.Context) {
	s.bgMu.Lock()
	s.bgClosed = true
	s.bgMu.Unlock()
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.bgCancel(ErrShuttingDown)
		<-done
	}
	s.bgCancel(ErrShuttingDown)
	s.queue.Close()
	s.commits.close()
}
