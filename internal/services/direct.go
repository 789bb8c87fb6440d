package services

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insitu-cloud/insitu/internal/meta"
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
	// CPUs); each runs one request at a time.
	PerService int
	Domain     string // services are NAME.svc.Domain
	Logger     *slog.Logger
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
	live     int // started and not yet ended, draining ones too (Max bounds it)
	seq      int
	closed   bool
	quit     chan struct{}
}

// directWorker is one service's direct worker and its journal.
type directWorker struct {
	d       *sandbox.Direct
	svc     Service // the definition it serves; Name and Owner only for a journal left by a crash
	journal string
	mu      sync.Mutex // guards off, and orders ingests
	off     int64
}

// maxDirectJournal is the journal size past which a direct worker is
// retired (its clients reconnect to a new one), so no journal grows
// without end.
const maxDirectJournal = 256 << 20

// ownerRE is what an account id must look like to name a journal file.
var ownerRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// journalName is a direct worker's journal file name: its owner and
// service (the parent's, trusted at a restart) and a sequence number.
func journalName(owner, service string, seq int) string {
	return owner + "~" + service + "~" + strconv.Itoa(seq) + ".journal"
}

// parseJournalName is journalName's inverse; ok is false for a name it
// did not make.
func parseJournalName(name string) (owner, service string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(name, ".journal"), "~")
	if len(parts) != 3 || !ownerRE.MatchString(parts[0]) || !nameRE.MatchString(parts[1]) {
		return "", "", false
	}
	return parts[0], parts[1], true
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
	set := &directSet{m: m, cfg: cfg, workers: map[string][]*directWorker{}, all: map[*directWorker]bool{}, starting: map[string]bool{}, quit: make(chan struct{})}
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

// directOK reports whether r's connection may go direct: a public
// service without mounts or outputs, reached by host over plain
// HTTP/1.1 keep-alive, with no body pending.
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
	f, err := dupConn(c)
	if err == nil {
		err = dw.d.Hand(f, prefix)
	}
	if err != nil {
		// Hijacked, so the request cannot go the usual way any more:
		// the client is told to retry rather than see a cut connection.
		set.cfg.Logger.Warn("services: direct handoff", "service", s.Name, "err", err)
		brw.WriteString("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		brw.Flush()
	}
	return true
}

// requestHead is r's request line and header again, as its client sent
// them (net/http keeps Host apart).
func requestHead(r *http.Request) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, r.RequestURI, r.Host)
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
// PerService (and the node fewer than Max); nil when none can serve.
// Workers started for an older definition of s are drained (forget does
// it at once on writes made here).
func (set *directSet) worker(ctx context.Context, s Service) *directWorker {
	set.mu.Lock()
	if set.closed {
		set.mu.Unlock()
		return nil
	}
	least := set.current(s)
	grow := least == nil || (least.d.Conns() > 0 && len(set.workers[s.Name]) < set.cfg.PerService)
	if !grow || set.starting[s.Name] || set.live >= set.cfg.Max {
		set.mu.Unlock()
		return least
	}
	if !ownerRE.MatchString(s.Owner) || !set.m.acquireDirect(s.Name, s.MaxConcurrency) {
		set.mu.Unlock()
		return least
	}
	set.live++
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
			go set.end(s.Name, dw)
			return nil
		}
		set.live--
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
	go set.end(s.Name, dw)
	return dw
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

func (set *directSet) start(ctx context.Context, s Service, journal string) (*directWorker, error) {
	plan, err := set.m.runs.PlanDirect(ctx, runs.Request{Account: s.Owner, Tenant: runs.AnonymousTenant(s.Owner),
		Kind: "service", App: s.App, Limits: sandbox.Limits{Timeout: s.Timeout, Memory: s.Memory}})
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
	spec.OnDeath = func(death sandbox.DirectDeath) { set.died(s.Name, plan.Record, spec.Limits.Timeout, death) }
	d, err := set.cfg.Runtime.StartDirect(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &directWorker{d: d, svc: s, journal: journal}, nil
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

// end waits for a direct worker's end, stores the rest of its journal
// and gives its service's concurrency back.
func (set *directSet) end(name string, dw *directWorker) {
	defer set.wg.Done()
	<-dw.d.Done()
	if err := set.ingest(context.Background(), dw); err != nil {
		set.cfg.Logger.Error("services: storing direct records; the journal stays for the next start", "journal", dw.journal, "err", err)
	} else {
		os.Remove(dw.journal)
	}
	set.mu.Lock()
	delete(set.all, dw)
	if list := slices.DeleteFunc(set.workers[name], func(x *directWorker) bool { return x == dw }); len(list) > 0 {
		set.workers[name] = list
	} else {
		delete(set.workers, name)
	}
	set.live--
	set.mu.Unlock()
	set.m.releaseDirect(name)
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
		set.mu.Lock()
		ws := make([]*directWorker, 0, len(set.all))
		for dw := range set.all {
			ws = append(ws, dw)
		}
		set.mu.Unlock()
		for _, dw := range ws {
			if err := set.ingest(context.Background(), dw); err != nil {
				set.cfg.Logger.Error("services: storing direct records", "journal", dw.journal, "err", err)
			}
		}
	}
}

// directStatKey marks a journal pair that is not stored: a direct
// request's service, status, latency and instance time, for the
// service's stats and metrics. No meta key starts with "#".
const directStatKey = "#svcstat"

// directStat encodes a direct request's stat pair.
func directStat(name string, code int, latency, run time.Duration) meta.Pair {
	return meta.Pair{Key: directStatKey, Value: fmt.Appendf(nil, "%s %d %d %d", name, code, latency, run)}
}

// observeStat counts a journaled stat pair of service want; malformed
// ones, and another service's, are skipped.
func (set *directSet) observeStat(want string, v []byte) {
	obs := set.observe.Load()
	var name string
	var code int
	var latency, run time.Duration
	if obs == nil {
		return
	}
	if _, err := fmt.Sscanf(string(v), "%s %d %d %d", &name, &code, &latency, &run); err != nil ||
		name != want || code < 100 || code > 999 {
		return
	}
	(*obs)(context.Background(), name, code, latency, run)
}

// ingest stores the whole entries dw's journal holds past what was
// stored before.
func (set *directSet) ingest(ctx context.Context, dw *directWorker) error {
	dw.mu.Lock()
	defer dw.mu.Unlock()
	f, err := os.Open(dw.journal)
	if errors.Is(err, fs.ErrNotExist) && dw.d != nil {
		return nil // its end stored the rest and removed it
	}
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, dw.off, 1<<40))
	if err != nil || len(data) == 0 {
		return err
	}
	entries, used := meta.ReadJournal(data)
	var pairs []meta.Pair
	for _, e := range entries {
		for _, p := range e {
			switch {
			case p.Key == directStatKey:
				set.observeStat(dw.svc.Name, p.Value)
			case directRecordKey(p.Key, dw.svc.Owner) && len(p.Value) <= maxDirectRecord:
				pairs = append(pairs, p)
			default:
				set.cfg.Logger.Warn("services: a direct worker journaled a pair it may not write; dropped", "journal", dw.journal, "key", p.Key)
			}
		}
	}
	for len(pairs) > 0 {
		n := min(len(pairs), meta.MaxBatch)
		if err := set.m.kv.PutBatch(ctx, pairs[:n]); err != nil {
			return err
		}
		pairs = pairs[n:]
	}
	dw.off += int64(used)
	if dw.off > maxDirectJournal && dw.d != nil {
		dw.d.Retire() // a new worker takes the next connections
	}
	return nil
}

// maxDirectRecord bounds a journaled record's size.
const maxDirectRecord = 64 << 10

// directRecordKey reports whether key is a run record of owner
// ("runs/OWNER/ID"): the only meta key a direct worker may write. A
// worker runs guests, so what it journals is checked like input.
func directRecordKey(key, owner string) bool {
	id, ok := strings.CutPrefix(key, "runs/"+owner+"/")
	return ok && id != "" && len(id) <= 64 && !strings.ContainsAny(id, "/\x00")
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
