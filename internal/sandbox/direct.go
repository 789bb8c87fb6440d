package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Direct is a worker in direct mode: it serves the client connections
// handed to it with HTTP, one request at a time, each in a fresh
// instance of one module, without the parent (DESIGN.md, "Services:
// direct connections"). The kernel stops a request at its deadline by
// killing the worker; the parent keeps its own copy of every connection,
// so after a death it can still answer the request that overran.
//
// Hand and Close are safe for concurrent use. The reader goroutine that
// watches the worker is counted by the Runtime, whose Close kills every
// direct worker and waits for it.
type Direct struct {
	r       *Runtime
	p       *proc
	slot    int
	page    *directPage
	onDeath func(DirectDeath)
	onBack  func(conn *os.File, read []byte)
	done    chan struct{}

	mu       sync.Mutex
	conns    map[uint64]*os.File // the parent's copies, by id
	idleAt   time.Time           // when conns last became empty
	next     uint64
	dead     bool
	draining bool          // Drain was called: Hand refuses
	drained  chan struct{} // closed by watch at msgDrained
}

// DirectSpec is what a direct worker serves.
type DirectSpec struct {
	ModuleID string
	Wasm     func() ([]byte, error) // the module's bytes; always called
	Args     []string
	Limits   Limits // per request; Timeout is the deadline the kernel keeps
	// Binding and Files go to the worker's DirectHandler (WorkerMainWith).
	Binding []byte
	Files   []*os.File
	// OnDeath runs once when the worker dies while serving a request
	// (its deadline passed, or it crashed); the connection is closed
	// after it returns.
	OnDeath func(DirectDeath)
	// OnHandback takes a connection the worker gave back (a request it
	// does not serve): the parent's copy of the socket and the bytes
	// the worker read from it, that request first. It runs on the
	// goroutine that reads the worker's messages; nil closes it.
	OnHandback func(conn *os.File, read []byte)
}

// DirectDeath is what a direct worker was doing when it died.
type DirectDeath struct {
	Conn    *os.File  // the parent's copy of the connection being served
	Begun   bool      // a byte of its response may have gone out
	Started time.Time // when the request's run started; zero: not yet
}

// maxDirectWorkers bounds the compilation cache slots of direct workers.
const maxDirectWorkers = 64

// directSlotBase is the first compilation cache slot of direct workers,
// apart from the pool's.
const directSlotBase = 1000

// StartDirect starts a direct worker for spec and returns once it has
// compiled its module and built its handler, ready for Hand.
func (r *Runtime) StartDirect(ctx context.Context, spec DirectSpec) (*Direct, error) {
	wasm, err := spec.Wasm()
	if err != nil {
		return nil, fmt.Errorf("sandbox: direct worker module: %w", err)
	}
	slot, ok := r.takeDirectSlot()
	if !ok {
		return nil, errors.New("sandbox: too many direct workers")
	}
	if !r.tasks.enter() {
		r.freeDirectSlot(slot)
		return nil, ErrClosed
	}
	d, err := r.startDirect(ctx, spec, wasm, slot)
	if err != nil {
		r.tasks.done()
		r.freeDirectSlot(slot)
		return nil, err
	}
	go d.watch()
	return d, nil
}

func (r *Runtime) startDirect(ctx context.Context, spec DirectSpec, wasm []byte, slot int) (*Direct, error) {
	pf, page, err := newDirectPage()
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	body, err := directBody(spec, wasm)
	if err != nil {
		unix.Munmap(page.b)
		return nil, err
	}
	defer body.Close()
	p, err := r.pool.spawn(ctx, slot)
	if err != nil {
		unix.Munmap(page.b)
		return nil, err
	}
	fds := []int{int(body.Fd()), int(pf.Fd())}
	for _, f := range spec.Files {
		fds = append(fds, int(f.Fd()))
	}
	err = p.sendMsg([]byte{msgDirect}, syscall.UnixRights(fds...))
	if err == nil {
		err = awaitReady(ctx, p)
	}
	if err != nil {
		p.kill(killClose)
		r.pool.retire(p)
		unix.Munmap(page.b)
		return nil, fmt.Errorf("sandbox: start direct worker: %w", err)
	}
	return &Direct{r: r, p: p, slot: slot, page: page, onDeath: spec.OnDeath, onBack: spec.OnHandback,
		done: make(chan struct{}), conns: map[uint64]*os.File{}, idleAt: time.Now()}, nil
}

// awaitReady waits for a new direct worker's msgStarted: its module
// compiled and its handler built (helloTimeout at most, or ctx).
func awaitReady(ctx context.Context, p *proc) error {
	deadline := time.Now().Add(helloTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	p.conn.SetReadDeadline(deadline)
	defer p.conn.SetReadDeadline(time.Time{})
	buf := make([]byte, 16)
	n, err := p.readMsg(buf)
	switch {
	case err != nil:
		return err
	case n == 0:
		return errors.New("the worker ended before it was ready (see its log)")
	case buf[0] != msgStarted:
		return fmt.Errorf("unexpected message %q", buf[0])
	}
	return nil
}

// directBody is the direct request in a memfd: the bound run and the
// binding (a module may not fit in a message).
func directBody(spec DirectSpec, wasm []byte) (*os.File, error) {
	if wasm == nil {
		wasm = []byte{}
	}
	q := request{moduleID: spec.ModuleID, wasm: wasm, args: spec.Args, lim: spec.Limits.withDefaults(), discardErr: true}
	var t, e enc
	q.encode(&t)
	e.bs(t.b)
	e.i(int64(q.lim.Timeout)) // not in a run request: the parent keeps those deadlines
	e.bs(spec.Binding)
	fd, err := unix.MemfdCreate("insitu-direct", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("sandbox: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "insitu-direct")
	if _, err := f.Write(e.b); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: memfd: %w", err)
	}
	return f, nil
}

// newDirectPage makes the shared page: a memfd, mapped here too.
func newDirectPage() (*os.File, *directPage, error) {
	fd, err := unix.MemfdCreate("insitu-direct-page", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "insitu-direct-page")
	if err := unix.Ftruncate(fd, directPageSize); err != nil {
		f.Close()
		return nil, nil, err
	}
	page, err := mapDirectPage(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, page, nil
}

// Hand gives the worker a client connection: conn is the parent's copy
// (Direct owns it from now on, on every path), prefix the bytes already
// read from it. A connection handed before Drain is served; after it,
// Hand fails.
func (d *Direct) Hand(conn *os.File, prefix []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead || d.draining {
		conn.Close()
		return errors.New("sandbox: the direct worker is gone or draining")
	}
	if len(prefix) > maxMsg-32 {
		conn.Close()
		return errors.New("sandbox: too many bytes read ahead to hand the connection over")
	}
	d.next++
	id := d.next
	var e enc
	e.b = append(e.b, msgConn)
	e.u(id)
	e.bs(prefix)
	if err := d.p.sendMsg(e.b, syscall.UnixRights(int(conn.Fd()))); err != nil {
		conn.Close()
		return err
	}
	d.conns[id] = conn
	return nil
}

// Serving reports whether Hand may still succeed: the worker is alive
// and not draining.
func (d *Direct) Serving() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.dead && !d.draining
}

// Conns is how many connections the worker holds.
func (d *Direct) Conns() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

// Running reports whether the worker is running a request now.
func (d *Direct) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.dead && d.page.conn.Load() != 0 // dead: the page may be unmapped
}

// Idle is how long the worker has held no connection; 0 while it holds
// one.
func (d *Direct) Idle() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.conns) > 0 {
		return 0
	}
	return time.Since(d.idleAt)
}

// Done is closed once the worker is gone and its connections closed.
func (d *Direct) Done() <-chan struct{} { return d.done }

// Close stops the worker: its connections close (a request in progress
// is cut). It does not wait; see Done.
func (d *Direct) Close() { d.p.kill(killClose) }

// Drain stops the worker once the requests in progress have ended (each
// by its deadline at the latest); idle connections close at once. It
// returns when the worker takes no new request, or at its death; a
// worker that does not answer within drainAck (a guest spinning on its
// only P) is killed, so no request read after Drain returns runs on it.
// See Done for its end.
func (d *Direct) Drain() {
	if !d.stop(msgDrain) {
		d.p.kill(killClose)
	}
}

// Retire stops the worker gently: each connection closes after its next
// response (Connection: close, so its client reconnects cleanly), an
// idle one at the worker's idle timeout, and the worker ends with its
// last connection. Hand refuses from now on. It returns when the worker
// has heard it (or after drainAck, or at its death).
func (d *Direct) Retire() { d.stop(msgRetire) }

// stop sends msg (msgDrain or msgRetire) once and waits for the
// worker's msgDrained; it reports whether that came (or the worker died).
func (d *Direct) stop(msg byte) bool {
	d.mu.Lock()
	if d.dead || d.draining {
		d.mu.Unlock()
		return true
	}
	d.draining = true
	d.drained = make(chan struct{})
	ch := d.drained
	err := d.p.sendMsg([]byte{msg}, nil)
	d.mu.Unlock()
	if err != nil {
		return true
	}
	select {
	case <-ch:
	case <-d.done:
	case <-time.After(drainAck):
		return false
	}
	return true
}

// drainAck bounds Drain's wait for the worker's answer.
const drainAck = time.Second

// watch reads the worker's messages until it dies, then answers for the
// request it was serving and closes every connection.
func (d *Direct) watch() {
	defer d.r.tasks.done()
	defer close(d.done)
	buf := make([]byte, maxMsg)
	for {
		n, err := d.p.readMsg(buf)
		if err != nil || n == 0 {
			break
		}
		d.handle(buf[:n])
	}
	d.p.kill(killClose)
	<-d.p.done
	d.r.pool.retire(d.p)
	d.mu.Lock()
	d.dead = true
	conns := d.conns
	d.conns = nil
	d.mu.Unlock()
	if f := conns[d.page.conn.Load()]; f != nil && d.onDeath != nil {
		death := DirectDeath{Conn: f, Begun: d.page.begun.Load() != 0}
		if ns := d.page.start.Load(); ns != 0 {
			death.Started = time.Unix(0, ns)
		}
		d.onDeath(death)
	}
	for _, f := range conns {
		f.Close()
	}
	unix.Munmap(d.page.b)
	d.r.freeDirectSlot(d.slot)
}

// handle acts on one message of the worker.
func (d *Direct) handle(msg []byte) {
	switch msg[0] {
	case msgDrained:
		d.mu.Lock()
		if d.drained != nil {
			close(d.drained)
			d.drained = nil
		}
		d.mu.Unlock()
	case msgClosed:
		dc := dec{b: msg[1:]}
		if f := d.take(dc.u()); f != nil {
			f.Close()
		}
	case msgBack:
		dc := dec{b: msg[1:]}
		id, read := dc.u(), dc.bs()
		f := d.take(id)
		switch {
		case f == nil:
		case dc.err != nil || d.onBack == nil:
			f.Close()
		default:
			d.onBack(f, bytes.Clone(read))
		}
	}
}

// take removes connection id from the worker's and returns the
// parent's copy (nil if unknown).
func (d *Direct) take(id uint64) *os.File {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.conns[id]
	if f != nil {
		delete(d.conns, id)
		if len(d.conns) == 0 {
			d.idleAt = time.Now()
		}
	}
	return f
}

func (r *Runtime) takeDirectSlot() (int, bool) {
	r.directMu.Lock()
	defer r.directMu.Unlock()
	for i := range maxDirectWorkers {
		if !r.directSlots[i] {
			r.directSlots[i] = true
			return directSlotBase + i, true
		}
	}
	return 0, false
}

func (r *Runtime) freeDirectSlot(slot int) {
	r.directMu.Lock()
	defer r.directMu.Unlock()
	r.directSlots[slot-directSlotBase] = false
}
