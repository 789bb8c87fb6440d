package services

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// Direct connections (DESIGN.md, "Services: direct connections"): a
// keep-alive connection to a public service, routed by host, is handed to
// a worker of that service, which answers its later requests itself.

const (
	// maxDirectConns bounds the connections one direct worker holds.
	maxDirectConns = 64
	// directIngestEvery is how often the records direct workers journaled
	// are stored in meta.
	directIngestEvery = 20 * time.Millisecond
	// maxDirectHead bounds a handed-over request's header: with the
	// bytes read ahead (at most net/http's 4 KiB buffer) it must fit one
	// message to the worker.
	maxDirectHead = 32 << 10
	// directDrainWait bounds how long Close waits for direct requests in
	// progress before it cuts them.
	directDrainWait = 5 * time.Second
)

// DirectConfig turns direct connections on (Manager.EnableDirect).
type DirectConfig struct {
	Runtime *sandbox.Runtime
	Dir     string // the workers' record journals
	Max     int    // direct workers at once
	// PerService bounds one service's direct workers (default: the
	// CPUs); each runs one request at a time. PerAccount bounds one
	// account's (default: half of Max, at least 1), so one tenant never
	// holds them all.
	PerService, PerAccount int
	// Idle is how long a worker may hold no connection before it is
	// retired (default 30 s).
	Idle   time.Duration
	Domain string // services are NAME.svc.Domain
	Logger *slog.Logger
	// Readmit takes a connection a direct worker handed back (a request
	// for something else than its service), its first bytes unread
	// again, to be served by the server; nil closes such connections.
	Readmit func(net.Conn)
	// Metrics and RequestLog receive each direct request, as the
	// server's middleware reports its own (nil: not counted, not logged).
	Metrics    *obs.Metrics
	RequestLog *slog.Logger
}

// directSet is a node's direct workers. It is safe for concurrent use;
// its goroutines (the ingest loop, and one per worker that waits for its
// end) are owned by it and Close waits for them.
type directSet struct {
	m   *Manager
	cfg DirectConfig
	wg  sync.WaitGroup

	// observe counts a direct request in the service's stats and
	// metrics (Handler.observe, set when the Handler is made).
	observe atomic.Pointer[func(ctx context.Context, name string, code int, latency, run time.Duration)]

	mu       sync.Mutex
	all      map[*directWorker]bool     // every worker not yet ended, draining ones too
	workers  map[string][]*directWorker // by service name: the current ones
	starting map[string]bool
	owned    map[string]int // workers started and not yet ended, draining ones too, by owner (live sums them)
	seq      int
	closed   bool
	quit     chan struct{}
}

// directWorker is one service's direct worker and its journal.
type directWorker struct {
	d       *sandbox.Direct
	svc     Service // the definition it serves; Name and Owner only for a journal left by a crash
	bound   string  // boundKey of its plan
	journal string
	// released gives its unit of concurrency back once (release).
	released sync.Once
	mu       sync.Mutex // guards off, and orders ingests
	off      int64
}

// EnableDirect turns direct connections on; call it once, before
// serving. It first stores what a previous process's workers journaled.
func (m *Manager) EnableDirect(ctx context.Context, cfg DirectConfig) error {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("services: %w", err)
	}
	if cfg.PerService <= 0 {
		cfg.PerService = runtime.NumCPU()
	}
	if cfg.PerAccount <= 0 {
		cfg.PerAccount = max(1, cfg.Max/2)
	}
	cfg.Idle = cmp.Or(cfg.Idle, 30*time.Second)
	set := &directSet{m: m, cfg: cfg, workers: map[string][]*directWorker{}, all: map[*directWorker]bool{},
		starting: map[string]bool{}, owned: map[string]int{}, quit: make(chan struct{})}
	left, _ := filepath.Glob(filepath.Join(cfg.Dir, "*.journal"))
	for _, p := range left {
		if owner, name, ok := parseJournalName(filepath.Base(p)); ok {
			dw := &directWorker{journal: p, svc: Service{Name: name, Owner: owner}}
			if err := set.ingest(ctx, dw); err != nil {
				return err
			}
		}
		os.Remove(p)
	}
	m.direct = set
	m.runs.SetSync(set.sync)
	set.wg.Add(1)
	go set.ingestLoop()
	return nil
}

// Close stops the direct workers (their connections close) and stores
// what they journaled. Safe to call when direct connections are off.
func (m *Manager) Close() {
	set := m.direct
	if set == nil {
		return
	}
	set.mu.Lock()
	if set.closed {
		set.mu.Unlock()
		return
	}
	set.closed = true
	close(set.quit)
	var ws []*directWorker
	for _, list := range set.workers {
		for _, dw := range list {
			dw.d.Drain()
			ws = append(ws, dw)
		}
	}
	set.mu.Unlock()
	// Workers drained earlier are not in ws: wg waits for their ends.
	// Requests in progress end by their deadlines; past the wait, cut.
	stop := time.After(directDrainWait)
	for _, dw := range ws {
		select {
		case <-dw.d.Done():
		case <-stop:
			dw.d.Close()
		}
	}
	set.wg.Wait()
}

// SyncDirect stores and counts what the direct workers journaled so
// far, so a reader (a metrics scrape) sees every direct request
// answered; nothing when direct connections are off.
func (m *Manager) SyncDirect(ctx context.Context) {
	if m.direct != nil {
		m.direct.sync(ctx)
	}
}

// DirectWorkers is how many direct workers run (starting and draining
// ones included); 0 when direct connections are off.
func (m *Manager) DirectWorkers() int {
	set := m.direct
	if set == nil {
		return 0
	}
	set.mu.Lock()
	defer set.mu.Unlock()
	return set.live()
}

// running is how many of name's direct workers run a request now.
func (set *directSet) running(name string) int {
	set.mu.Lock()
	defer set.mu.Unlock()
	n := 0
	for dw := range set.all {
		if dw.svc.Name == name && dw.d.Running() {
			n++
		}
	}
	return n
}

// directOK reports whether r's connection may go direct: a public
// service without mounts or outputs, reached by its own host (a
// path-routed connection is the node's, shared with S3, whose signed
// requests must not pass through a process that runs guests) over plain
// HTTP/1.1 keep-alive, with no body pending. A request on it for
// anything else comes back to the server.
func directOK(r *http.Request, s Service, script string) bool {
	return s.Public && len(s.Mounts) == 0 && s.Out == nil && script == "" && r.TLS == nil &&
		r.ProtoMajor == 1 && r.ProtoMinor == 1 && !r.Close && r.ContentLength == 0 &&
		len(r.TransferEncoding) == 0 && r.Header.Get("Expect") == "" && r.Header.Get("Upgrade") == ""
}

// handoff hands r's connection to s's direct worker, starting one when
// there is room. false means r is served the usual way. set.mu is held
// from the check to the hand-over, so a worker retired meanwhile (whose
// Drain holds it too) is never handed a connection.
func (set *directSet) handoff(ctx context.Context, w http.ResponseWriter, r *http.Request, s Service) bool {
	dw := set.worker(ctx, s)
	if dw == nil {
		return false
	}
	set.mu.Lock()
	defer set.mu.Unlock()
	if !slices.Contains(set.workers[s.Name], dw) || dw.d.Conns() >= maxDirectConns {
		return false
	}
	head := requestHead(r)
	if len(head) > maxDirectHead {
		return false
	}
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	defer c.Close()
	prefix := head
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		prefix = append(prefix, b...)
	}
	if back, ok := c.(*readmitted); ok {
		prefix = append(prefix, back.unread()...)
	}
	f, err := dupConn(c)
	if err == nil {
		err = dw.d.Hand(f, prefix)
	}
	if err == nil {
		obs.FromContext(ctx).Handed = true // the worker answers it and reports it
	} else {
		// Hijacked, so the request cannot go the usual way any more:
		// the client is told to retry rather than see a cut connection.
		set.cfg.Logger.Warn("services: direct handoff", "service", s.Name, "err", err)
		brw.WriteString("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		brw.Flush()
	}
	return true
}

// requestHead is r's request line and header again, as its client sent
// them (net/http keeps Host and Transfer-Encoding apart).
func requestHead(r *http.Request) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/%d.%d\r\nHost: %s\r\n", r.Method, r.RequestURI, r.ProtoMajor, r.ProtoMinor, r.Host)
	if len(r.TransferEncoding) > 0 {
		fmt.Fprintf(&b, "Transfer-Encoding: %s\r\n", strings.Join(r.TransferEncoding, ", "))
	}
	r.Header.Write(&b)
	b.WriteString("\r\n")
	return b.Bytes()
}

// dupConn returns a close-on-exec copy of c's socket.
func dupConn(c any) (*os.File, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd int
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return os.NewFile(uintptr(fd), "direct-conn"), nil
}

// worker returns the direct worker of s with the fewest connections,
// or starts one when that one already has some and s has fewer than
// PerService (and the node fewer than Max, s's owner fewer than
// PerAccount); nil when none can serve. Workers started for an older
// definition of s are drained (forget does it at once on writes made
// here).
func (set *directSet) worker(ctx context.Context, s Service) *directWorker {
	set.mu.Lock()
	if set.closed {
		set.mu.Unlock()
		return nil
	}
	least := set.current(s)
	if least != nil && least.d.Running() && set.m.atCap(s.Name, s.MaxConcurrency) {
		set.mu.Unlock()
		return nil // at the service's cap a busy worker takes no one: the server's path answers 503
	}
	grow := least == nil || (least.d.Conns() > 0 && len(set.workers[s.Name]) < set.cfg.PerService)
	if !grow || set.starting[s.Name] || !set.roomFor(s.Owner) {
		set.mu.Unlock()
		return least
	}
	if !ownerRE.MatchString(s.Owner) {
		set.mu.Unlock()
		return least
	}
	if !set.m.acquireDirect(s.Name, s.MaxConcurrency) {
		set.mu.Unlock()
		return least
	}
	set.owned[s.Owner]++
	set.starting[s.Name] = true
	set.seq++
	journal := filepath.Join(set.cfg.Dir, journalName(s.Owner, s.Name, set.seq))
	set.wg.Add(1) // Close waits for the start (it sets closed under mu first)
	defer set.wg.Done()
	set.mu.Unlock()

	dw, err := set.start(ctx, s, journal)
	set.mu.Lock()
	defer set.mu.Unlock()
	delete(set.starting, s.Name)
	if err != nil || set.closed {
		if dw != nil {
			dw.d.Close()
			set.wg.Add(1)
			go set.end(dw)
			return nil
		}
		set.forget(s.Owner)
		set.m.releaseDirect(s.Name)
		os.Remove(journal)
		if err != nil {
			set.cfg.Logger.Warn("services: starting a direct worker", "service", s.Name, "err", err)
		}
		return least
	}
	set.workers[s.Name] = append(set.workers[s.Name], dw)
	set.all[dw] = true
	set.wg.Add(1)
	go set.end(dw)
	return dw
}

// roomFor reports whether owner may start a direct worker now: under
// Max and PerAccount. Where it may not, a worker holding no connection
// (owner's own, or any at Max) is retired, so the next request finds
// room. set.mu is held.
func (set *directSet) roomFor(owner string) bool {
	switch {
	case set.owned[owner] >= set.cfg.PerAccount:
		set.evictIdle(func(dw *directWorker) bool { return dw.svc.Owner == owner })
		return false
	case set.live() >= set.cfg.Max:
		set.evictIdle(func(*directWorker) bool { return true })
		return false
	}
	return true
}

// evictIdle retires one current worker that holds no connection and
// matches ok, the longest idle. set.mu is held.
func (set *directSet) evictIdle(ok func(*directWorker) bool) {
	var pick *directWorker
	var longest time.Duration
	for _, list := range set.workers {
		for _, dw := range list {
			if idle := dw.d.Idle(); idle > 0 && ok(dw) && idle > longest {
				pick, longest = dw, idle
			}
		}
	}
	if pick != nil {
		set.retireWorker(pick)
	}
}

// retireWorker stops dw taking connections (it is no longer current)
// and drains it on a goroutine of the set; its end counts it down.
// set.mu is held.
func (set *directSet) retireWorker(dw *directWorker) {
	set.uncurrent(dw)
	set.wg.Add(1)
	go func() {
		defer set.wg.Done()
		dw.d.Drain()
	}()
}

// uncurrent drops dw from its service's current workers: no connection
// is handed to it any more. set.mu is held.
func (set *directSet) uncurrent(dw *directWorker) {
	name := dw.svc.Name
	if list := slices.DeleteFunc(set.workers[name], func(x *directWorker) bool { return x == dw }); len(list) > 0 {
		set.workers[name] = list
	} else {
		delete(set.workers, name)
	}
}

// live is how many workers are started and not yet ended, draining ones
// too (Max bounds it). set.mu is held.
func (set *directSet) live() int {
	n := 0
	for _, k := range set.owned {
		n += k
	}
	return n
}

// forget gives back a worker's place under Max and PerAccount. set.mu
// is held.
func (set *directSet) forget(owner string) {
	if set.owned[owner]--; set.owned[owner] <= 0 {
		delete(set.owned, owner)
	}
}

// current drops s's workers that died or serve an older definition
// (draining those) and returns the one with the fewest connections, or
// nil. set.mu is held.
func (set *directSet) current(s Service) *directWorker {
	var keep []*directWorker
	var least *directWorker
	for _, dw := range set.workers[s.Name] {
		switch {
		case !dw.d.Serving():
			continue // dead or draining: its end counts it down
		case dw.svc.App != s.App || !dw.svc.Updated.Equal(s.Updated):
			dw.d.Drain()
			continue
		}
		keep = append(keep, dw)
		if least == nil || dw.d.Conns() < least.d.Conns() {
			least = dw
		}
	}
	set.workers[s.Name] = keep
	if len(keep) == 0 {
		delete(set.workers, s.Name)
	}
	return least
}

// directBinding is what a direct worker's handler knows of its service.
type directBinding struct {
	Service     string            `json:"service"`
	Timeout     time.Duration     `json:"timeout"` // for the body read ahead of a run
	Domain      string            `json:"domain"`
	Env         map[string]string `json:"env,omitempty"`
	ManifestEnv map[string]string `json:"manifest_env,omitempty"`
	Record      runs.Record       `json:"record"`
}

// plan resolves what a worker of s binds now (its app's version and
// module, the owner's caps).
func (set *directSet) plan(ctx context.Context, s Service) (runs.DirectPlan, error) {
	return set.m.runs.PlanDirect(ctx, runs.Request{Account: s.Owner, Tenant: runs.AnonymousTenant(s.Owner),
		Kind: "service", App: s.App, Limits: sandbox.Limits{Timeout: s.Timeout, Memory: s.Memory}})
}

// boundKey identifies what a plan binds: two plans with the same key run
// the same module the same way.
func boundKey(p runs.DirectPlan) string {
	return fmt.Sprintf("%s|%s|%s|%+v|%q|%v", p.Record.App, p.Record.Digest, p.Spec.ModuleID, p.Spec.Limits, p.Spec.Args, p.ManifestEnv)
}

func (set *directSet) start(ctx context.Context, s Service, journal string) (*directWorker, error) {
	plan, err := set.plan(ctx, s)
	if err != nil {
		return nil, err
	}
	binding, err := json.Marshal(directBinding{Service: s.Name, Timeout: cmp.Or(s.Timeout, DefaultTimeout), Domain: set.cfg.Domain, Env: s.Env,
		ManifestEnv: plan.ManifestEnv, Record: plan.Record})
	if err != nil {
		return nil, err
	}
	jf, err := os.OpenFile(journal, os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer jf.Close()
	spec := plan.Spec
	spec.Binding, spec.Files = binding, []*os.File{jf}
	dw := &directWorker{svc: s, journal: journal, bound: boundKey(plan)}
	spec.OnDeath = func(death sandbox.DirectDeath) {
		set.release(dw) // before the client hears: its retry may start a worker
		set.died(s.Name, plan.Record, spec.Limits.Timeout, death)
	}
	spec.OnHandback = set.readmit
	d, err := set.cfg.Runtime.StartDirect(ctx, spec)
	if err != nil {
		return nil, err
	}
	dw.d = d
	return dw, nil
}

// release gives back dw's unit of its service's concurrency, once: when
// it dies in a request, or at its end.
func (set *directSet) release(dw *directWorker) {
	dw.released.Do(func() { set.m.releaseDirect(dw.svc.Name) })
}

// RevalidateDirect drains the direct workers whose binding no longer
// holds (their app's version pushed or removed, the owner's caps
// changed, the owner removed) and returns once they take no new
// request: the next one starts a worker on what is current. The node
// calls it after every write of an app or an account.
func (m *Manager) RevalidateDirect(ctx context.Context) {
	set := m.direct
	if set == nil {
		return
	}
	set.mu.Lock()
	var current []*directWorker
	for _, list := range set.workers {
		current = append(current, list...)
	}
	set.mu.Unlock()
	var stale []*directWorker
	for _, dw := range current {
		if p, err := set.plan(ctx, dw.svc); err != nil || boundKey(p) != dw.bound {
			stale = append(stale, dw)
		}
	}
	if len(stale) == 0 {
		return
	}
	set.mu.Lock()
	for _, dw := range stale {
		set.uncurrent(dw)
	}
	set.mu.Unlock()
	for _, dw := range stale {
		dw.d.Drain()
	}
}

// died answers and records the request a direct worker died in: the
// kernel stopped it at its deadline (504), or the worker crashed (502).
// Nothing is written to a client that already has part of a response.
func (set *directSet) died(name string, base runs.Record, timeout time.Duration, death sandbox.DirectDeath) {
	res := sandbox.DirectResult{Status: sandbox.StatusError, ExitCode: -1, Reason: "the direct worker died",
		Start: death.Started, Wall: time.Since(death.Started)}
	code, msg := http.StatusBadGateway, "the service failed: error"
	if !death.Started.IsZero() && res.Wall >= timeout {
		res.Status, res.Reason = sandbox.StatusTimeout, fmt.Sprintf("stopped at the time limit of %v", timeout)
		code, msg = http.StatusGatewayTimeout, "the service did not answer in time"
	}
	if !death.Begun {
		death.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		fmt.Fprintf(death.Conn, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s\n",
			code, http.StatusText(code), len(msg)+1, msg)
	}
	if death.Started.IsZero() {
		return // no run started: no record
	}
	if obs := set.observe.Load(); obs != nil {
		(*obs)(context.Background(), name, code, res.Wall, res.Wall)
	}
	_, pair, err := runs.DirectRecord(base, res)
	if err == nil {
		err = set.m.kv.PutBatch(context.Background(), []meta.Pair{pair})
	}
	if err != nil {
		set.cfg.Logger.Error("services: recording a direct request that died", "err", err)
	}
}

// readmit gives a connection a worker handed back to the server, the
// bytes the worker read from it first.
func (set *directSet) readmit(f *os.File, read []byte) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil || set.cfg.Readmit == nil {
		if c != nil {
			c.Close()
		}
		return
	}
	set.cfg.Readmit(&readmitted{Conn: c, pre: bytes.NewReader(read)})
}

// readmitted is a connection back from a direct worker: the bytes it
// read first, then the socket.
type readmitted struct {
	net.Conn
	pre *bytes.Reader
}

func (c *readmitted) Read(p []byte) (int, error) {
	if c.pre.Len() > 0 {
		return c.pre.Read(p)
	}
	return c.Conn.Read(p)
}

// SyscallConn is the socket's, so the connection may go direct again.
func (c *readmitted) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	return sc.SyscallConn()
}

// unread is what the server has not read yet of the bytes the worker
// gave back.
func (c *readmitted) unread() []byte {
	b, _ := io.ReadAll(c.pre)
	return b
}

// end waits for a direct worker's end, stores the rest of its journal
// and gives back what it held.
func (set *directSet) end(dw *directWorker) {
	defer set.wg.Done()
	<-dw.d.Done()
	if err := set.ingest(context.Background(), dw); err != nil {
		set.cfg.Logger.Error("services: storing direct records; the journal stays for the next start", "journal", dw.journal, "err", err)
	} else {
		os.Remove(dw.journal)
	}
	set.mu.Lock()
	defer set.mu.Unlock()
	delete(set.all, dw)
	set.uncurrent(dw)
	set.forget(dw.svc.Owner)
	set.release(dw)
}

// retire stops name's direct worker (its definition changed) once its
// requests in progress have ended on the old definition; the next
// request may start a new one at once.
func (set *directSet) retire(name string) {
	set.mu.Lock()
	defer set.mu.Unlock()
	set.drainLocked(name)
}

// drainLocked drains name's current workers and forgets them as
// current; their ends still count them down. set.mu is held.
func (set *directSet) drainLocked(name string) {
	for _, dw := range set.workers[name] {
		dw.d.Drain()
	}
	delete(set.workers, name)
}

// ingestLoop stores the journaled records every directIngestEvery.
func (set *directSet) ingestLoop() {
	defer set.wg.Done()
	t := time.NewTicker(directIngestEvery)
	defer t.Stop()
	for {
		select {
		case <-set.quit:
			return
		case <-t.C:
		}
		set.retireIdle()
		set.sync(context.Background())
	}
}

// sync stores what every direct worker has journaled so far: the loop
// does it every directIngestEvery, and a reader of run records first
// (runs.Service.SetSync), so a record is listed once its answer went out.
func (set *directSet) sync(ctx context.Context) {
	set.mu.Lock()
	ws := make([]*directWorker, 0, len(set.all))
	for dw := range set.all {
		ws = append(ws, dw)
	}
	set.mu.Unlock()
	for _, dw := range ws {
		if err := set.ingest(ctx, dw); err != nil {
			set.cfg.Logger.Error("services: storing direct records", "journal", dw.journal, "err", err)
		}
	}
}

// retireIdle retires the workers that have held no connection for
// cfg.Idle: each holds a process, a unit of its service's concurrency
// and a place under Max.
func (set *directSet) retireIdle() {
	set.mu.Lock()
	defer set.mu.Unlock()
	var idle []*directWorker
	for _, list := range set.workers {
		for _, dw := range list {
			if dw.d.Idle() >= set.cfg.Idle {
				idle = append(idle, dw)
			}
		}
	}
	for _, dw := range idle {
		set.retireWorker(dw)
	}
}

// atCap reports whether every unit of name's concurrency is taken.
func (m *Manager) atCap(name string, limit int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inUse[name] >= limit
}

// acquireDirect takes one unit of name's concurrency for a direct worker
// (it runs one request at a time); svc stats do not count it in flight.
func (m *Manager) acquireDirect(name string, limit int) bool {
	if !m.acquire(name, limit) {
		return false
	}
	m.mu.Lock()
	m.directHeld[name]++
	m.mu.Unlock()
	return true
}

func (m *Manager) releaseDirect(name string) {
	m.mu.Lock()
	if m.directHeld[name]--; m.directHeld[name] <= 0 {
		delete(m.directHeld, name)
	}
	m.mu.Unlock()
	m.release(name)
}
