package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DirectHandler builds the HTTP handler of a direct worker from the
// binding its parent gave (opaque here), the files that came with it,
// and the runner that runs the bound module once per call. It runs in
// the worker process.
type DirectHandler func(binding []byte, files []*os.File, run DirectRunner) (http.Handler, error)

// DirectRunner runs a direct worker's module once, in the worker: a
// fresh instance (made ahead when possible) with env, stdin and stdout,
// stopped by the kernel at the bound Limits.Timeout. Runs take turns;
// call Run from a handler, with its request's context. started, when
// not nil, is called once the run has its turn, just before the guest
// starts, with the kernel's deadline: the time counts from there.
type DirectRunner interface {
	Run(ctx context.Context, env []string, stdin io.Reader, stdout io.Writer, started func(deadline time.Time)) DirectResult
	// Handback gives w's connection back to the parent, which serves it
	// from then on: head is the request as its client sent it (the
	// handler has read none of its body); the bytes read after it go
	// along. The handler must not touch w afterwards.
	Handback(w http.ResponseWriter, head []byte) error
}

// DirectResult is how a direct run ended (a run that overran its
// deadline never returns: the process dies).
type DirectResult struct {
	Status      Status
	ExitCode    int
	Reason      string
	Start       time.Time
	Wall, CPU   time.Duration
	PeakMemory  int64
	StdinBytes  int64
	StdoutBytes int64
}

// OK reports whether the run exited 0.
func (r DirectResult) OK() bool { return r.Status == StatusExited && r.ExitCode == 0 }

// directPage is the page a direct worker shares with its parent: which
// connection it is serving (0: none), whether a byte of that response
// may have gone out, and when its run started (Unix ns, 0: not yet). The
// parent reads it after the worker died.
type directPage struct {
	b     []byte
	conn  *atomic.Uint64
	begun *atomic.Uint64
	start *atomic.Int64
}

func mapDirectPage(f *os.File) (*directPage, error) {
	b, err := unix.Mmap(int(f.Fd()), 0, directPageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return &directPage{b: b, conn: (*atomic.Uint64)(unsafe.Pointer(&b[0])),
		begun: (*atomic.Uint64)(unsafe.Pointer(&b[8])), start: (*atomic.Int64)(unsafe.Pointer(&b[16]))}, nil
}

const directPageSize = 4096

// directWorker is the state of a worker in direct mode. mu serializes
// requests: one guest at a time, and its page entries.
type directWorker struct {
	w     *worker
	tmpl  request
	page  *directPage
	timer int32
	mu    sync.Mutex

	connMu   sync.Mutex
	idle     map[net.Conn]bool // the connections waiting for their next request
	open     int               // connections not yet closed
	retiring bool              // msgRetire came: close connections after their responses
	retired  chan struct{}     // closed when retiring and no connection is left
}

// serveDirect turns the worker into a direct worker (it never takes
// runs again): fds are a memfd holding the bound run and the binding,
// the page, and then the handler's files. It serves the connections the
// parent hands over until the parent closes its end.
func (w *worker) serveDirect(fds []*os.File) error {
	if w.directHandler == nil || len(fds) < 2 {
		return errors.New("direct mode is not served here")
	}
	body, err := io.ReadAll(io.NewSectionReader(fds[0], 0, 1<<40))
	fds[0].Close()
	if err != nil {
		return err
	}
	fds = fds[1:]
	d := dec{b: body}
	tmplMsg, timeout, binding := d.bs(), time.Duration(d.i()), d.bs()
	if d.err != nil {
		return d.err
	}
	dw := &directWorker{w: w, idle: map[net.Conn]bool{}, retired: make(chan struct{})}
	if err := dw.tmpl.decode(tmplMsg); err != nil {
		return err
	}
	if timeout <= 0 {
		return errors.New("a direct worker needs a deadline")
	}
	dw.tmpl.lim.Timeout = timeout
	if _, err := w.compiled(&dw.tmpl); err != nil {
		return err
	}
	dw.tmpl.wasm = nil
	if dw.page, err = mapDirectPage(fds[0]); err != nil {
		return err
	}
	fds[0].Close()
	if dw.timer, err = newKillTimer(); err != nil {
		return err
	}
	h, err := w.directHandler(binding, fds[1:], dw)
	if err != nil {
		return err
	}
	// One request runs at a time, so one P: its goroutines hand work to
	// each other without waking a second thread (at 1 connection, CPU
	// per request 116-122 → 85-89 µs; BENCHMARKS.md, session 18). A
	// spinning guest holds the P until the kernel's timer.
	runtime.GOMAXPROCS(1)
	w.prepareAhead(dw.tmpl.moduleID)
	if err := w.send([]byte{msgStarted}); err != nil {
		return err
	}
	ln := &connFeed{ch: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: dw.wrap(h), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, directConnKey{}, c.(*directConn).id)
		},
		ConnState: dw.connState}
	drained := make(chan struct{})
	go dw.feed(ln, func(retire bool) {
		if retire {
			dw.retire()
			<-dw.retired
		} else {
			dw.drain(srv)
		}
		srv.Shutdown(context.Background()) // each request still ends by its deadline
		close(drained)
	})
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-drained
		return nil
	}
	if errors.Is(err, errFeedClosed) {
		return nil
	}
	return err
}

type directConnKey struct{}

// connState keeps the idle set and the open count, and tells the parent
// of each closed connection.
func (dw *directWorker) connState(c net.Conn, st http.ConnState) {
	dw.connMu.Lock()
	if st == http.StateIdle {
		dw.idle[c] = true
	} else {
		delete(dw.idle, c)
	}
	switch st {
	case http.StateNew:
		dw.open++
	case http.StateClosed, http.StateHijacked:
		dw.open--
		if dw.retiring && dw.open == 0 {
			close(dw.retired)
		}
	}
	dw.connMu.Unlock()
	if st == http.StateClosed {
		dw.closed(c.(*directConn).id) // a hijacked one: Handback tells
	}
}

// retire marks the worker retiring, then tells the parent: wrap closes
// each connection after its next response; retired closes with the last
// one.
func (dw *directWorker) retire() {
	dw.connMu.Lock()
	dw.retiring = true
	if dw.open == 0 {
		close(dw.retired)
	}
	dw.connMu.Unlock()
	dw.w.send([]byte{msgDrained})
}

// feed reads the parent's messages: each msgConn brings a connection;
// msgDrain and msgRetire call end (the server stops taking requests and
// ends when those in progress have). When the parent closes its end, the
// listener closes and the worker exits.
func (dw *directWorker) feed(ln *connFeed, end func(retire bool)) {
	w := dw.w
	defer ln.Close()
	for {
		// A blocking wait through the syscall entry: a new connection is
		// rare, and the raw wait (worker_recv.go) would hold a P.
		if err := waitReadable(w.fd); err != nil {
			return
		}
		n, oobn, _, _, err := unix.Recvmsg(w.fd, w.rbuf, w.oob, unix.MSG_CMSG_CLOEXEC|unix.MSG_DONTWAIT)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		fds, err := parseRights(w.oob[:oobn])
		msg := w.rbuf[:n]
		if err == nil && (msg[0] == msgDrain || msg[0] == msgRetire) && len(fds) == 0 {
			end(msg[0] == msgRetire)
			return
		}
		if err != nil || msg[0] != msgConn || len(fds) != 1 {
			for _, f := range fds {
				f.Close()
			}
			return
		}
		d := dec{b: msg[1:]}
		id, prefix := d.u(), bytes.Clone(d.bs())
		c, err := net.FileConn(fds[0])
		fds[0].Close()
		if err != nil || d.err != nil {
			return
		}
		ln.ch <- &directConn{Conn: c, id: id, pre: bytes.NewReader(prefix)}
	}
}

// drain stops the server from taking new requests and tells the parent
// so: no keep-alive after the responses in progress, idle connections
// closed now (a client retries a request it sent on one as it closed).
// A request read before this ends on the worker's definition; none read
// after the parent's Drain returned does.
func (dw *directWorker) drain(srv *http.Server) {
	srv.SetKeepAlivesEnabled(false)
	dw.connMu.Lock()
	for c := range dw.idle {
		c.Close()
	}
	dw.connMu.Unlock()
	dw.w.send([]byte{msgDrained})
}

// closed tells the parent that connection id is gone, so it closes its
// copy of the socket.
func (dw *directWorker) closed(id uint64) {
	var e enc
	e.b = append(e.b, msgClosed)
	e.u(id)
	dw.w.send(e.b)
}

// wrap marks a retiring worker's responses Connection: close and lets
// the response mark the page once its bytes may leave. Requests of
// several connections are in their handlers at once (reading bodies,
// writing answers); only their runs take turns (Run).
func (dw *directWorker) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id, _ := r.Context().Value(directConnKey{}).(uint64)
		dw.connMu.Lock()
		if dw.retiring {
			rw.Header().Set("Connection", "close")
		}
		dw.connMu.Unlock()
		h.ServeHTTP(&begunWriter{ResponseWriter: rw, page: dw.page, id: id}, r)
	})
}

// Run implements DirectRunner: one run at a time (dw.mu), with the page
// naming ctx's connection while it runs, and the kernel's timer armed.
// The next instance is made after it, while its answer goes out.
func (dw *directWorker) Run(ctx context.Context, env []string, stdin io.Reader, stdout io.Writer, started func(time.Time)) DirectResult {
	id, _ := ctx.Value(directConnKey{}).(uint64)
	req := dw.tmpl
	req.env, req.stdinKind, req.stdinLocal, req.stdoutLocal = env, srcLocal, stdin, stdout
	req.discardErr = true
	dw.mu.Lock()
	ahead := false
	defer func() {
		dw.page.conn.Store(0)
		if !ahead { // a panic: memory scrubbed, no instance ahead
			dw.w.scrub()
			dw.mu.Unlock()
		}
	}()
	dw.page.begun.Store(0)
	start := time.Now()
	if started != nil {
		started(start.Add(req.lim.Timeout))
	}
	dw.page.start.Store(start.UnixNano())
	dw.page.conn.Store(id)
	armKillTimer(dw.timer, req.lim.Timeout)
	res, _ := dw.w.run(&req, nil)
	armKillTimer(dw.timer, 0)
	out := DirectResult{Status: res.status, ExitCode: -1, Reason: res.reason, Start: start,
		Wall: time.Since(start), CPU: time.Duration(res.cpu), PeakMemory: res.peak,
		StdinBytes: res.stdin, StdoutBytes: res.stdout}
	if res.status == StatusExited {
		out.ExitCode = int(res.exitCode)
	}
	ahead = true
	go func() {
		defer dw.mu.Unlock()
		dw.w.scrub()
		dw.w.prepareAhead(dw.tmpl.moduleID)
	}()
	return out
}

// Handback implements DirectRunner: the connection is hijacked, and its
// id, head and every byte read past it (net/http's buffer, then what is
// left of the parent's prefix) go to the parent in one message. The
// worker's copy of the socket closes without a shutdown: the parent's
// serves on. A handback that cannot be sent closes the connection.
func (dw *directWorker) Handback(w http.ResponseWriter, head []byte) error {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return err
	}
	dc, ok := c.(*directConn)
	if !ok {
		c.Close()
		return errors.New("sandbox: not a direct connection")
	}
	var e enc
	e.b = append(e.b, msgBack)
	e.u(dc.id)
	rest := make([]byte, 0, len(head)+brw.Reader.Buffered()+dc.pre.Len())
	rest = append(rest, head...)
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	rest = append(rest, buffered...)
	unread, _ := io.ReadAll(dc.pre)
	rest = append(rest, unread...)
	e.bs(rest)
	if len(e.b) > maxMsg {
		err = errors.New("sandbox: too many bytes read to hand the connection back")
	} else {
		err = dw.w.send(e.b)
	}
	if err != nil {
		dc.Close()
		dw.closed(dc.id)
		return err
	}
	return dc.Conn.Close()
}

// begunWriter marks the page before a byte of the response can leave,
// while its request's run is the one on the page (a kill can only come
// during a run).
type begunWriter struct {
	http.ResponseWriter
	page *directPage
	id   uint64
}

func (b *begunWriter) mark() {
	if b.page.conn.Load() == b.id {
		b.page.begun.Store(1)
	}
}

func (b *begunWriter) WriteHeader(code int) {
	b.mark()
	b.ResponseWriter.WriteHeader(code)
}

func (b *begunWriter) Write(p []byte) (int, error) {
	b.mark()
	return b.ResponseWriter.Write(p)
}

func (b *begunWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// directConn is a handed-over client connection: the bytes the parent
// had read first, then the socket. Close shuts the socket down before it
// closes it: the parent's copy would keep it open.
type directConn struct {
	net.Conn
	id  uint64
	pre *bytes.Reader // what the parent read first; then the socket
}

func (c *directConn) Read(p []byte) (int, error) {
	if c.pre.Len() > 0 {
		return c.pre.Read(p)
	}
	return c.Conn.Read(p)
}

func (c *directConn) Close() error {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
		}
	}
	return c.Conn.Close()
}

var errFeedClosed = errors.New("sandbox: the parent closed the direct worker")

// connFeed is a listener whose connections come from the parent. Close
// (by Shutdown, or when the parent hangs up) ends Accept.
type connFeed struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *connFeed) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, errFeedClosed
	}
}

func (l *connFeed) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}
func (l *connFeed) Addr() net.Addr { return directAddr{} }

type directAddr struct{}

func (directAddr) Network() string { return "direct" }
func (directAddr) String() string  { return "direct" }

// newKillTimer creates a POSIX timer on CLOCK_MONOTONIC whose expiry
// sends this process SIGKILL: a direct run's deadline, which holds even
// while the guest spins through a stop-the-world.
func newKillTimer() (int32, error) {
	ev := struct {
		value  uintptr
		signo  int32
		notify int32 // SIGEV_SIGNAL
		_      [48]byte
	}{signo: int32(unix.SIGKILL)}
	var id int32
	_, _, e := unix.RawSyscall(unix.SYS_TIMER_CREATE, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(&ev)), uintptr(unsafe.Pointer(&id)))
	if e != 0 {
		return -1, fmt.Errorf("timer_create: %w", e)
	}
	return id, nil
}

// armKillTimer sets the timer to expire after d; 0 disarms it.
func armKillTimer(id int32, d time.Duration) {
	var its unix.ItimerSpec
	its.Value = unix.NsecToTimespec(int64(d))
	unix.RawSyscall6(unix.SYS_TIMER_SETTIME, uintptr(id), 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0)
}
