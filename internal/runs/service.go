package runs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/insitu-cloud/insitu/internal/admit"
	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Errors a Request can be refused with, before anything runs.
var (
	ErrAccessDenied = errors.New("runs: access denied")
	ErrBadRequest   = errors.New("runs: bad request")
)

// Runner executes sandbox specs; *sandbox.Runtime implements it.
type Runner interface {
	Run(ctx context.Context, spec sandbox.Spec) (*sandbox.Result, error)
}

// Config wires a Service.
type Config struct {
	Engine  store.Engine
	Apps    *apps.Registry
	Runtime Runner
	KV      meta.Store
	// Node names this node in records. Default "local".
	Node string
	// Caps are the largest limits any run may ask for; zero fields use
	// DefaultCaps.
	Caps sandbox.Limits
	// AccountCaps, when set, returns an account's own ceilings, which
	// replace Caps field by field for that account; an error refuses the
	// run rather than run it uncapped.
	AccountCaps func(ctx context.Context, account string) (auth.Caps, bool, error)
	// Slots is how many runs execute at once (the sandbox's workers);
	// default 1. PerAccountRunning caps one account's share of them
	// (default Slots) and PerAccountQueued its waiting runs (default 64);
	// see package admit for the fairness rule.
	Slots, PerAccountRunning, PerAccountQueued int
	Logger                                     *slog.Logger
	// Registerer receives the run metrics; nil skips them.
	Registerer prometheus.Registerer
	// Remote reaches the other nodes of a cluster; nil when alone. With
	// it, a run over an object this node does not hold executes on a
	// holder (see Run).
	Remote Remote
	// ReadGrant, when set, decides whether an account may read an object
	// in a bucket it does not own (another account's policy or ACL
	// granting s3:GetObject; nil error: it may). Nil: only the owner
	// reads. Writes are the owner's alone either way.
	ReadGrant func(ctx context.Context, accountID, bucket, key string) error
}

// DefaultCaps are the per-account ceilings on run limits.
func DefaultCaps() sandbox.Limits {
	return sandbox.Limits{
		Memory: 1 << 30, Timeout: 15 * time.Minute,
		StdoutBytes: 5 << 30, StderrBytes: 64 << 20,
		OutFiles: 10000, OutBytes: 5 << 30,
		TmpFiles: 10000, TmpBytes: 256 << 20,
	}
}

// Service runs apps for accounts.
type Service struct {
	engine store.Engine
	apps   *apps.Registry
	rt     Runner
	kv     meta.Store
	node   string
	caps   sandbox.Limits
	acaps  func(ctx context.Context, account string) (auth.Caps, bool, error)
	log    *slog.Logger
	remote Remote
	grant  func(ctx context.Context, accountID, bucket, key string) error
	queue  *admit.Queue
	// commits writes run records; Close drains it.
	commits *groupCommit
	total   *prometheus.CounterVec
	// sync, when set (SetSync), stores records written elsewhere (direct
	// workers' journals) before Get and List read.
	sync atomic.Pointer[func(context.Context)]

	// Detached runs: owned here, drained by Close.
	bg       sync.WaitGroup
	bgMu     sync.Mutex // guards bgClosed against bg.Add
	bgClosed bool
	bgCtx    context.Context
	bgCancel context.CancelCauseFunc
	seconds  *prometheus.HistogramVec
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{engine: cfg.Engine, apps: cfg.Apps, rt: cfg.Runtime, kv: cfg.KV, node: cfg.Node,
		caps: DefaultCaps().Overlay(cfg.Caps), acaps: cfg.AccountCaps, log: cfg.Logger, remote: cfg.Remote, grant: cfg.ReadGrant}
	if s.node == "" {
		s.node = "local"
	}
	s.queue = admit.New(admit.Config{Slots: cfg.Slots, PerTenantRunning: cfg.PerAccountRunning, PerTenantQueued: cfg.PerAccountQueued})
	s.bgCtx, s.bgCancel = context.WithCancelCause(context.Background())
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.commits = newGroupCommit(s.kv, s.log)
	s.total = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "insitu_runs_total", Help: "Sandbox runs by kind and final status.",
	}, []string{"kind", "status"})
	s.seconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "insitu_run_duration_seconds", Help: "Wall time of sandbox runs by kind.",
		Buckets: prometheus.ExponentialBuckets(0.00002, 4, 12),
	}, []string{"kind"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.total, s.seconds)
	}
	return s
}

// ObjectRef names an object, or a prefix when used as an output directory.
type ObjectRef struct{ Bucket, Key string }

func (o ObjectRef) String() string { return "s3://" + o.Bucket + "/" + o.Key }

// ParseS3URL parses "s3://bucket/key".
func ParseS3URL(s string) (ObjectRef, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return ObjectRef{}, fmt.Errorf("%w: %q is not an s3://BUCKET/KEY URL", ErrBadRequest, s)
	}
	b, k, _ := strings.Cut(rest, "/")
	if b == "" {
		return ObjectRef{}, fmt.Errorf("%w: %q names no bucket", ErrBadRequest, s)
	}
	return ObjectRef{Bucket: b, Key: k}, nil
}

// InputSpec mounts an object under /in.
type InputSpec struct {
	Object ObjectRef
	// Path below /in; default the key's base name.
	Path string
}

// Request is one run to execute.
type Request struct {
	// ID names the run's record; default a new UUIDv7.
	ID string
	// Account is the account's id (auth.Account.ID), never its name.
	Account string
	// Kind labels the record: "run" (default), "transform", "open", "write".
	Kind string
	App  string // [owner/]name[:version]
	// Args follow argv[0]; nil takes the manifest's default args.
	Args []string
	Env  map[string]string

	StdinObject *ObjectRef
	Stdin       io.Reader // used when StdinObject is nil
	Stdout      io.Writer // ignored when StdoutObject is set
	Stderr      io.Writer // ignored when StderrObject is set

	StdoutObject *ObjectRef
	StderrObject *ObjectRef
	Inputs       []InputSpec
	// OutPrefix receives the files of /out as objects OutPrefix.Key+path,
	// when the run exits 0.
	OutPrefix *ObjectRef
	// Limits overrides the app's limits field by field (zero = keep).
	Limits        sandbox.Limits
	Deterministic bool
	Seed          int64
	// OutputMeta is stored on objects written from stdout.
	OutputMeta store.ObjectMeta
	// Tenant is whose share of the node's run slots the run takes (see
	// package admit); default Account. Services set AnonymousTenant for
	// unsigned requests.
	Tenant string
	// KeepPartial stores stdout and /out files even when the run fails
	// (jobs keep a failed task's partial output). By default they are
	// stored only when the guest exits 0; stderr objects always are.
	KeepPartial bool
	// Local runs the request on this node even when its input object is
	// held elsewhere: job tasks the scheduler placed here, and runs
	// another node sent here. Not sent over the wire.
	Local bool
	// SandboxDone, when set, is called once the run has left its sandbox
	// and given back its admission slot, before its outputs are stored
	// and its record written (Run returns after both): a job frees its
	// own slot there, so the next task runs while this one commits. It
	// is not called when the run never reached a sandbox, nor for a run
	// executed on another node. Not sent over the wire.
	SandboxDone func()
}

// Run executes req and returns its record. An error means the run was
// refused or could not start (ErrBusy: the account's queue is full); a
// guest failure is in the record. The run waits its turn in the node's
// admission queue before it opens its inputs or takes a sandbox worker;
// time spent waiting is reported as Record.QueuedMS and does not count
// against the run's timeout.
//
// In a cluster (Config.Remote), a run over an object (its stdin object,
// else its only input) that this node does not hold executes on a node
// that does, unless req.Local: the program moves to the data. Only when
// no holder can be reached does this node stream the bytes and run it.
func (s *Service) Run(ctx context.Context, req Request) (*Record, error) {
	if rec, err, handled := s.runNearData(ctx, req); handled {
		return rec, err
	}
	app, err := s.prepare(ctx, &req)
	if err != nil {
		return nil, err
	}
	queued := time.Now()
	tk, err := s.queue.Acquire(ctx, req.tenant())
	if err != nil {
		return nil, admitError(err)
	}
	rec, err := func() (*Record, error) {
		defer tk.Release()
		return s.execute(ctx, app, req, time.Since(queued), func() {
			tk.Release()
			if req.SandboxDone != nil {
				req.SandboxDone()
			}
		})
	}()
	if err != nil {
		return nil, err
	}
	// The slot was freed when the sandbox returned: the next run executes
	// while this one's outputs and record commit (its record with theirs,
	// see groupCommit); the caller is answered after both.
	s.save(ctx, rec)
	return rec, nil
}

// prepare fills req's defaults and refuses it, before it queues, when the
// app does not resolve or the account does not own a bucket it names.
func (s *Service) prepare(ctx context.Context, req *Request) (apps.App, error) {
	if req.Kind == "" {
		req.Kind = "run"
	}
	if req.ID == "" {
		req.ID = NewID()
	}
	for _, a := range req.Args {
		if strings.ContainsRune(a, 0) {
			return apps.App{}, fmt.Errorf("%w: an argument contains a NUL byte", ErrBadRequest)
		}
	}
	app, err := s.apps.Resolve(ctx, req.Account, req.App)
	if err != nil {
		return apps.App{}, err
	}
	return app, s.authorize(ctx, *req)
}

// execute runs req, which holds an admission slot: it opens the inputs,
// runs the sandbox, calls free (which gives the slot back) as soon as the
// sandbox returns, then stores the outputs and counts the run. The
// caller writes the record (save).
func (s *Service) execute(ctx context.Context, app apps.App, req Request, queued time.Duration, free func()) (*Record, error) {
	spec, closers, err := s.buildSpec(ctx, app, req)
	defer closeAll(closers)
	if err != nil {
		return nil, err
	}
	rec := &Record{ID: req.ID, Account: req.Account, App: app.Owner + "/" + app.Ref(), Digest: app.Digest,
		Node: s.node, Kind: req.Kind, Start: time.Now().UTC(), QueuedMS: ms(queued)}

	// Object-bound stdout/stderr stream into PutObject while the guest runs.
	var sinks []*objectSink
	if req.StdoutObject != nil {
		sk := s.startSink(ctx, *req.StdoutObject, req.OutputMeta)
		spec.Stdout, sinks = sk, append(sinks, sk)
	}
	if req.StderrObject != nil {
		sk := s.startSink(ctx, *req.StderrObject, store.ObjectMeta{ContentType: "text/plain"})
		spec.Stderr, sinks = sk, append(sinks, sk)
	}
	res, runErr := s.rt.Run(ctx, spec)
	free()
	if runErr != nil {
		for _, sk := range sinks {
			sk.abort(runErr)
		}
		rec.Status, rec.ExitCode, rec.Error = sandbox.StatusError, -1, runErr.Error()
		s.count(rec)
		return rec, nil
	}
	defer func() {
		if res.Cleanup != nil {
			res.Cleanup()
		}
	}()
	rec.fill(res)
	s.storeOutputs(ctx, rec, req, res, sinks)
	s.count(rec)
	return rec, nil
}

// storeOutputs finishes the object-bound streams and stores /out files,
// when the run succeeded (or req.KeepPartial), noting failures in rec.
func (s *Service) storeOutputs(ctx context.Context, rec *Record, req Request, res *sandbox.Result, sinks []*objectSink) {
	for _, sk := range sinks {
		if !rec.OK() && !req.KeepPartial && sk.ref != derefOr(req.StderrObject) {
			sk.abort(errRunFailed)
			continue
		}
		if err := sk.finish(); err != nil {
			rec.Error = joinErr(rec.Error, fmt.Sprintf("storing %s: %v", sk.ref, err))
			continue
		}
		rec.Outputs = append(rec.Outputs, sk.ref.String())
	}
	if (!rec.OK() && !req.KeepPartial) || req.OutPrefix == nil {
		return
	}
	for _, o := range res.Outputs {
		ref := ObjectRef{Bucket: req.OutPrefix.Bucket, Key: req.OutPrefix.Key + o.Path}
		if err := s.storeFile(ctx, ref, o); err != nil {
			rec.Error = joinErr(rec.Error, fmt.Sprintf("storing %s: %v", ref, err))
			continue
		}
		rec.Outputs = append(rec.Outputs, ref.String())
	}
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var errRunFailed = errors.New("runs: the run failed; output discarded")

func derefOr(r *ObjectRef) ObjectRef {
	if r == nil {
		return ObjectRef{}
	}
	return *r
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// finish counts the run and writes its record.
func (s *Service) finish(ctx context.Context, rec *Record) {
	s.count(rec)
	s.save(ctx, rec)
}

// count adds the run to the metrics.
func (s *Service) count(rec *Record) {
	s.total.WithLabelValues(rec.Kind, string(rec.Status)).Inc()
	s.seconds.WithLabelValues(rec.Kind).Observe(rec.WallMS / 1000)
}

// save writes rec (grouped with other runs' records, see groupCommit),
// returning once it is durable; a failure is logged. The record is
// written even when the caller went away.
func (s *Service) save(ctx context.Context, rec *Record) {
	if err := s.saveRecord(context.WithoutCancel(ctx), rec); err != nil {
		obs.LoggerOr(ctx, s.log).Error("save run record", "id", rec.ID, "err", err)
	}
}

// NewID returns a new run id (UUIDv7: ids sort by start time).
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Check refuses req now if it would be refused by Run: unknown app or a
// bucket the account does not own.
func (s *Service) Check(ctx context.Context, req Request) error {
	if _, err := s.apps.Resolve(ctx, req.Account, req.App); err != nil {
		return err
	}
	return s.authorize(ctx, req)
}

// authorize checks, before anything runs, that the account owns every
// bucket the run writes, and owns or was granted (Config.ReadGrant) every
// object it reads. Each bucket's owner is looked up once (a job task
// names its input's bucket for stdin and /in, and often writes there).
func (s *Service) authorize(ctx context.Context, req Request) error {
	var reads, writes []ObjectRef
	for _, r := range []*ObjectRef{req.StdoutObject, req.StderrObject, req.OutPrefix} {
		if r != nil {
			writes = append(writes, *r)
		}
	}
	if req.StdinObject != nil {
		reads = append(reads, *req.StdinObject)
	}
	for i := range req.Inputs {
		reads = append(reads, req.Inputs[i].Object)
	}
	var seen []string
	var seenErr []error
	owns := func(bucket string) error {
		if i := slices.Index(seen, bucket); i >= 0 {
			return seenErr[i]
		}
		err := s.owns(ctx, req.Account, bucket)
		seen, seenErr = append(seen, bucket), append(seenErr, err)
		return err
	}
	for _, o := range writes {
		if err := owns(o.Bucket); err != nil {
			return err
		}
	}
	for _, o := range reads {
		err := owns(o.Bucket)
		if errors.Is(err, ErrAccessDenied) && s.grant != nil {
			err = s.grant(ctx, req.Account, o.Bucket, o.Key)
			if errors.Is(err, auth.ErrAccessDenied) {
				err = fmt.Errorf("%w: %s", ErrAccessDenied, o)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// owns is auth.OwnsBucket with a refusal as ErrAccessDenied.
func (s *Service) owns(ctx context.Context, account, bucket string) error {
	err := auth.OwnsBucket(ctx, s.engine, account, bucket)
	if errors.Is(err, auth.ErrNotOwner) {
		return fmt.Errorf("%w: bucket %s", ErrAccessDenied, bucket)
	}
	return err
}

// limitsFor is the run's limits: the app's, overlaid with the request's,
// clamped to the node's caps overlaid with the account's own. An account
// whose caps cannot be read is refused (a 500), never run uncapped.
func (s *Service) limitsFor(ctx context.Context, app apps.App, req Request) (sandbox.Limits, error) {
	limits, err := app.Manifest.Limits.Apply(sandbox.DefaultLimits())
	if err != nil {
		return limits, fmt.Errorf("%w: app limits: %v", ErrBadRequest, err)
	}
	caps := s.caps
	if s.acaps != nil {
		ac, ok, err := s.acaps(ctx, req.Account)
		if err != nil {
			return limits, fmt.Errorf("runs: account caps: %v", err)
		}
		if ok {
			caps = caps.Overlay(sandbox.Limits(ac))
		}
	}
	return clamp(limits.Overlay(req.Limits), caps), nil
}

// envOf is the guest's environment, sorted: the manifest's, overlaid with
// the request's. It builds the list straight from both maps (it runs on
// every service request).
func envOf(app apps.App, req Request) ([]string, error) {
	return MergeEnv(app.Manifest.Env, req.Env)
}

// MergeEnv is a guest's environment: base (an app manifest's) overlaid
// with over (a request's); a name or value a guest cannot be given is
// ErrBadRequest.
func MergeEnv(base, over map[string]string) ([]string, error) {
	env := make([]string, 0, len(base)+len(over))
	for k, v := range base {
		if _, over := over[k]; !over {
			env = append(env, k+"="+v)
			if badEnv(k, v) {
				return nil, fmt.Errorf("%w: bad environment variable %q", ErrBadRequest, k)
			}
		}
	}
	for k, v := range over {
		env = append(env, k+"="+v)
		if badEnv(k, v) {
			return nil, fmt.Errorf("%w: bad environment variable %q", ErrBadRequest, k)
		}
	}
	sort.Strings(env)
	return env, nil
}

// badEnv reports whether k=v cannot be an environment entry.
func badEnv(k, v string) bool {
	return k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0
}

// buildSpec resolves limits, args, env and opens the input objects.
func (s *Service) buildSpec(ctx context.Context, app apps.App, req Request) (sandbox.Spec, []io.Closer, error) {
	limits, err := s.limitsFor(ctx, app, req)
	if err != nil {
		return sandbox.Spec{}, nil, err
	}
	env, err := envOf(app, req)
	if err != nil {
		return sandbox.Spec{}, nil, err
	}
	args := req.Args
	if args == nil {
		args = app.Manifest.Args
	}
	spec := sandbox.Spec{
		ModuleID: app.Digest,
		Wasm:     func() ([]byte, error) { return s.apps.Module(app.Digest) },
		Args:     append([]string{app.Name}, args...),
		Env:      env,
		Stdout:   req.Stdout, Stderr: req.Stderr,
		Limits:        limits,
		Deterministic: req.Deterministic, Seed: req.Seed,
	}
	closers, err := s.openChannels(ctx, req, &spec)
	return spec, closers, err
}

// openChannels opens req's stdin object and /in inputs into spec and
// returns what the caller closes (also on error). An object named twice
// (a job task's input is its stdin and under /in) is looked up and
// opened once: both read it at offsets.
func (s *Service) openChannels(ctx context.Context, req Request, spec *sandbox.Spec) ([]io.Closer, error) {
	var closers []io.Closer
	opens := map[ObjectRef]*opened{}
	open := func(ref ObjectRef) (*opened, error) {
		if f := opens[ref]; f != nil {
			return f, nil
		}
		f, err := s.open(ctx, ref)
		if err != nil {
			return nil, err
		}
		opens[ref], closers = f, append(closers, f)
		return f, nil
	}
	if req.StdinObject != nil {
		f, err := open(*req.StdinObject)
		if err != nil {
			return closers, err
		}
		spec.Stdin = f.stdin()
	} else if req.Stdin != nil {
		spec.Stdin = sandbox.Stdin{Reader: req.Stdin}
	}
	seen := map[string]bool{}
	for _, in := range req.Inputs {
		p := in.Path
		if p == "" {
			p = path.Base(in.Object.Key)
		}
		p = strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(p, "/in/")), "/")
		if p == "" || p == "." || seen[p] {
			return closers, fmt.Errorf("%w: input path %q is empty or used twice", ErrBadRequest, in.Path)
		}
		seen[p] = true
		f, err := open(in.Object)
		if err != nil {
			return closers, err
		}
		spec.Inputs = append(spec.Inputs, f.input(p))
	}
	return closers, nil
}

// opened is an input object: its data file when the engine keeps local
// files, else its bytes.
type opened struct {
	file  *os.File
	bytes []byte
	size  int64
}

func (o *opened) Close() error {
	if o.file != nil {
		return o.file.Close()
	}
	return nil
}

func (o *opened) stdin() sandbox.Stdin {
	if o.file != nil {
		return sandbox.Stdin{File: o.file, Size: o.size}
	}
	return sandbox.Stdin{Reader: bytes.NewReader(o.bytes)}
}

func (o *opened) input(p string) sandbox.Input {
	if o.file != nil {
		return sandbox.Input{Path: p, File: o.file, Size: o.size}
	}
	return sandbox.Input{Path: p, Bytes: o.bytes, Size: o.size}
}

// maxInMemoryInput bounds inputs read into memory for engines without
// local files.
const maxInMemoryInput = 256 << 20

// open returns ref's data file, or its bytes when the engine keeps no
// local file for it (an inline body, another node's object, another
// engine).
func (s *Service) open(ctx context.Context, ref ObjectRef) (*opened, error) {
	if lo, ok := s.engine.(store.LocalOpener); ok {
		info, f, rc, err := lo.OpenLocal(ctx, ref.Bucket, ref.Key)
		switch {
		case err == nil && f != nil:
			return &opened{file: f, size: info.Size}, nil
		case err == nil:
			return readOpened(ref, info, rc)
		case !errors.Is(err, store.ErrNotLocal):
			return nil, err
		}
	} else if lf, ok := s.engine.(store.LocalFiles); ok {
		info, f, err := lf.OpenFile(ctx, ref.Bucket, ref.Key)
		if err == nil {
			return &opened{file: f, size: info.Size}, nil
		}
		if !errors.Is(err, store.ErrNotLocal) {
			return nil, err
		}
	}
	info, rc, err := s.engine.GetObject(ctx, ref.Bucket, ref.Key, nil)
	if err != nil {
		return nil, err
	}
	return readOpened(ref, info, rc)
}

// readOpened reads an object's body into memory and closes rc.
func readOpened(ref ObjectRef, info store.ObjectInfo, rc io.ReadCloser) (*opened, error) {
	defer rc.Close()
	if info.Size > maxInMemoryInput {
		return nil, fmt.Errorf("%w: %s is too large for this storage backend", ErrBadRequest, ref)
	}
	b, err := io.ReadAll(rc)
	return &opened{bytes: b, size: info.Size}, err
}

func (s *Service) storeFile(ctx context.Context, ref ObjectRef, o sandbox.Output) error {
	f, err := os.Open(o.HostPath)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.engine.PutObject(ctx, ref.Bucket, ref.Key, f, o.Size, store.PutOptions{Meta: store.ObjectMeta{ContentType: contentTypeFor(o.Path)}})
	return err
}
