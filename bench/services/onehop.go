package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// onehopEnv marks a child of this program that serves the onehop row;
// onehopJournalEnv names its journal file in the onehop+rec row;
// onehopConnEnv makes it serve one connection at a time (the direct row).
const (
	onehopEnv        = "BENCH_SERVICES_ONEHOP_WASM"
	onehopJournalEnv = "BENCH_SERVICES_ONEHOP_JOURNAL"
	onehopConnEnv    = "BENCH_SERVICES_ONEHOP_ONECONN"
)

// onehopMode says what a row's children do beyond serving.
type onehopMode int

const (
	onehopBare    onehopMode = iota // onehop: nothing else
	onehopRecord                    // onehop+rec: deadline page and journal
	onehopPerConn                   // direct: one connection per process, journal, kernel deadline
)

// startOnehop measures what a one-hop design could reach at best: procs
// processes (GOMAXPROCS=1, GOGC=400, like insitu's workers) accept on one
// shared listening socket and each answers its own clients, one guest at
// a time, from a fresh instance of hello.wasm per request. Each process
// keeps the savings insitu's worker has (the next instance made right
// after a response, the guest's memory reused) and nothing else: no
// parent to kill a spinning guest, no record, no admission, no CGI
// variables bound per request. It is an upper bound for serving the
// client from the worker, not a design.
//
// With journals set (the onehop+rec row), each process also pays for the
// guarantees such a design could keep without a hop: before each run it
// publishes the run's start and deadline in a page it shares (a memfd,
// where a parent's watchdog would read them), and before each answer it
// reads its CPU time (getrusage, as a worker does for Result.CPU) and
// appends a run record to its own journal file with one write(2), so the
// record would survive a crash of the process. Nothing reads them here.
//
// In the direct row (onehopPerConn), there is a process per connection,
// as in DESIGN.md's direct connections: each serves one connection at a
// time, journals its records and arms a SIGKILL timer at each run's
// deadline (disarmed after the run) instead of publishing it.
func startOnehop(ctx context.Context, root, tmp string, procs int, mode onehopMode) (target, error) {
	ln, err := listenLoopback()
	if err != nil {
		return target{}, err
	}
	defer ln.Close() // the children hold their own copies
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return target{}, err
	}
	defer f.Close()
	wasm := filepath.Join(root, "examples", "services", "hello", "hello.wasm")
	var pids []int
	name, what := "one hop, at best", "no parent, no kill, no record"
	note := strconv.Itoa(procs) + " processes sharing the listener, each serving its clients from a fresh hello.wasm instance made ahead: "
	switch mode {
	case onehopRecord:
		name, what = "one hop + record", "a deadline page and a journaled record per request, no parent"
	case onehopPerConn:
		name, what = "direct, at best", "a SIGKILL timer and a journaled record per request, no parent"
		note = strconv.Itoa(procs) + " processes sharing the listener, each serving one connection at a time from a fresh hello.wasm instance made ahead: "
	}
	for i := range procs {
		cmd := exec.CommandContext(ctx, os.Args[0])
		cmd.Env = append(os.Environ(), onehopEnv+"="+wasm, "GOMAXPROCS=1", "GOGC=400")
		if mode != onehopBare {
			cmd.Env = append(cmd.Env, onehopJournalEnv+"="+filepath.Join(tmp, "onehop-journal-"+strconv.Itoa(i)))
		}
		if mode == onehopPerConn {
			cmd.Env = append(cmd.Env, onehopConnEnv+"=1")
		}
		cmd.ExtraFiles = []*os.File{f}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // gone with the bench
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return target{}, err
		}
		pids = append(pids, cmd.Process.Pid)
		go cmd.Wait()
	}
	return target{name: name, url: "http://" + ln.Addr().String() + "/svc/hello/",
		pids: func() []int { return pids },
		note: note + what}, nil
}

// serveOnehop is a onehop child: it serves until killed.
func serveOnehop(wasmPath string) error {
	ctx := context.Background()
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return err
	}
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		return err
	}
	rt := wazero.NewRuntime(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return err
	}
	s := &onehopServer{rt: rt, mod: mod}
	oneConn := os.Getenv(onehopConnEnv) == "1"
	if path := os.Getenv(onehopJournalEnv); path != "" {
		if s.rec, err = newOnehopRecorder(path, oneConn); err != nil {
			return err
		}
	}
	if !oneConn {
		return http.Serve(ln, s)
	}
	one := &oneConnListener{Listener: ln, turn: make(chan struct{}, 1)}
	srv := &http.Server{Handler: s, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed || st == http.StateHijacked {
			<-one.turn
		}
	}}
	return srv.Serve(one)
}

// oneConnListener accepts a connection only once the previous one closed.
type oneConnListener struct {
	net.Listener
	turn chan struct{} // holds a token while a connection is open
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.turn <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.turn
	}
	return c, err
}

// onehopServer runs one guest at a time, like a worker.
type onehopServer struct {
	rt    wazero.Runtime
	mod   wazero.CompiledModule
	mu    sync.Mutex
	ahead *onehopInstance
	spare []byte
	rec   *onehopRecorder // nil: no deadline page, no journal
}

type onehopInstance struct {
	m     api.Module
	entry api.Function
	out   bytes.Buffer
}

// make instantiates the module with the spare memory; s.mu is held.
func (s *onehopServer) make(ctx context.Context) (*onehopInstance, error) {
	inst := &onehopInstance{}
	cfg := wazero.NewModuleConfig().WithStdout(&inst.out).WithName("").WithStartFunctions().
		WithEnv("REQUEST_METHOD", "GET").WithEnv("PATH_INFO", "/")
	m, err := s.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, spareAllocator{s}), s.mod, cfg)
	if err != nil {
		return nil, err
	}
	inst.m, inst.entry = m, m.ExportedFunction("_start")
	return inst, nil
}

func (s *onehopServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := context.Background()
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.ahead
	s.ahead = nil
	if inst == nil {
		var err error
		if inst, err = s.make(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	start := time.Now()
	s.rec.begin(start)
	_, err := inst.entry.Call(ctx)
	inst.m.Close(ctx)
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil // proc_exit(0) ends a C program's _start
	}
	if werr := s.rec.end(start, err); werr != nil {
		http.Error(w, werr.Error(), http.StatusInternalServerError)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	writeCGI(w, &inst.out)
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // the answer leaves before the next instance is made
	}
	s.ahead, _ = s.make(ctx)
}

// spareAllocator hands the server's spare buffer to the next memory.
type spareAllocator struct{ s *onehopServer }

func (a spareAllocator) Allocate(capacity, _ uint64) experimental.LinearMemory {
	m := &spareMemory{s: a.s}
	if uint64(cap(a.s.spare)) >= capacity {
		m.buf, a.s.spare = a.s.spare[:0], nil
	} else {
		m.buf = make([]byte, 0, capacity)
	}
	return m
}

type spareMemory struct {
	s   *onehopServer
	buf []byte
}

func (m *spareMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		nb := make([]byte, size, max(size, 2*uint64(cap(m.buf))))
		copy(nb, m.buf)
		m.buf = nb
	}
	m.buf = m.buf[:size]
	return m.buf
}

// Free zeroes the memory and keeps it as the spare.
func (m *spareMemory) Free() {
	clear(m.buf)
	m.s.spare = m.buf[:0]
}

// onehopChild runs the child when this process is one.
func onehopChild() bool {
	p := os.Getenv(onehopEnv)
	if p == "" {
		return false
	}
	if err := serveOnehop(p); err != nil {
		fmt.Fprintln(os.Stderr, "onehop:", err)
		os.Exit(1)
	}
	return true
}
