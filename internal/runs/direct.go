package runs

import (
	"context"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// DirectPlan is what a direct service worker binds: the app of req
// resolved and authorized as Run would, its module, argv and limits
// (clamped to the account's caps), its manifest's environment, and the
// fields of its records.
type DirectPlan struct {
	Spec        sandbox.DirectSpec // ModuleID, Wasm, Args, Limits
	ManifestEnv map[string]string
	Record      Record // Account, App, Digest, Node, Kind
}

// PlanDirect prepares req (a service request's account, app, limits and
// kind; no stdin, inputs or outputs) for a direct worker.
func (s *Service) PlanDirect(ctx context.Context, req Request) (DirectPlan, error) {
	app, err := s.prepare(ctx, &req)
	if err != nil {
		return DirectPlan{}, err
	}
	limits, err := s.limitsFor(ctx, app, req)
	if err != nil {
		return DirectPlan{}, err
	}
	args := req.Args
	if args == nil {
		args = app.Manifest.Args
	}
	return DirectPlan{
		Spec: sandbox.DirectSpec{ModuleID: app.Digest, Wasm: func() ([]byte, error) { return s.apps.Module(app.Digest) },
			Args: append([]string{app.Name}, args...), Limits: limits},
		ManifestEnv: app.Manifest.Env,
		Record:      Record{Account: req.Account, App: app.Owner + "/" + app.Ref(), Digest: app.Digest, Node: s.node, Kind: req.Kind},
	}, nil
}

// DirectRecord is the record of a direct run, from the plan's fields
// and the run's result, and the meta pair that stores it.
func DirectRecord(base Record, res sandbox.DirectResult) (Record, meta.Pair, error) {
	rec := base
	rec.ID = NewID()
	rec.Start = res.Start.UTC()
	rec.Status, rec.ExitCode, rec.Error = res.Status, res.ExitCode, res.Reason
	rec.WallMS, rec.CPUMS = ms(res.Wall), ms(res.CPU)
	rec.PeakMemory, rec.StdinBytes, rec.StdoutBytes = res.PeakMemory, res.StdinBytes, res.StdoutBytes
	b, err := marshalRecord(&rec)
	return rec, meta.Pair{Key: recordKey(rec.Account, rec.ID), Value: b}, err
}

// SetSync makes Get and List call fn first: it stores the records that
// direct workers journaled, so a run whose answer went out is listed.
// Safe to call once, before serving.
func (s *Service) SetSync(fn func(context.Context)) { s.sync.Store(&fn) }

// synced calls the SetSync function, if any.
func (s *Service) synced(ctx context.Context) {
	if fn := s.sync.Load(); fn != nil {
		(*fn)(ctx)
	}
}
