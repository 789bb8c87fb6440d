// Command services measures insitu's per-request services against classic
// CGI and against an in-process handler, with a real HTTP load generator on
// loopback, in one run:
//
//	go run ./bench/services [-duration 10s] [-warmup 2s] [-conns 1,16] [-load auto|wrk|go] [-rounds 1]
//
// With -rounds N, every row is measured N times, the rows taking turns,
// and a table of medians follows: on a noisy machine the rows then see
// the same moments, and the ratios between them hold better.
//
// The three rows serve the same response ("Content-Type: text/plain",
// "hello\n") for GET /svc/hello/:
//
//   - insitu: the real insitu binary (built from ./cmd/insitu into a
//     temporary directory) serving the service hello, the C program
//     examples/services/hello/hello.c as committed (hello.wasm), public; a
//     fresh WebAssembly sandbox per request.
//   - cgi: the same hello.c compiled natively with cc -O2 and served by
//     Go's net/http/cgi (fork+exec of the program per request) in this
//     process.
//   - ceiling: an in-process Go handler writing the same bytes, no
//     isolation at all.
//   - inproc (only when asked for with -rows): hello.wasm instantiated
//     per request with wazero's plain API inside this process (no worker
//     to kill a spinning guest, no record, no instance made ahead).
//   - insitu-direct: a second insitu server on its defaults, requests
//     sent to the service's own host (hello.svc.localhost), so keep-alive
//     connections go to a direct worker (DESIGN.md, "Services: direct
//     connections"). The insitu row reaches the service by its path,
//     which stays on the server's path.
//   - onehop (only when asked for with -rows): one process per CPU,
//     sharing the listener, each answering its own clients from a fresh
//     hello.wasm instance made ahead in reused memory: an upper bound for
//     a design where the worker serves the client itself (onehop.go).
//   - onehop+rec (only when asked for): onehop plus a deadline page and a
//     journaled run record per request.
//   - direct (only when asked for): a process per connection (as many as
//     the largest -conns value), each with a journaled record and a
//     SIGKILL timer armed per request: DESIGN.md's direct connections at
//     best.
//
// Load comes from wrk (apt install wrk; -t1 -cN --latency) when it is
// installed, else from a Go client (N keep-alive connections, one
// goroutine each, fixed duration). Each row gets a warm-up run that is not
// counted, then the measured run. Server CPU per request (user+system of
// the serving process and its children, from /proc) is reported beside.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

type config struct {
	duration, warmup time.Duration
	connsList        []int
	conns, threads   int
	load             string
	rows             string
	insitu           string // a prebuilt insitu binary ("" = build one)
	keep             bool
	cc               string
	hangups          int // requests whose client hangs up at once, per row (0: none)
	rounds           int // measured runs of every row, interleaved (1: one run each)
}

func main() {
	if onehopChild() {
		return
	}
	cfg := &config{}
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per row")
	flag.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "warm-up per row, not counted")
	conns := flag.String("conns", "1,16", "keep-alive connections: one table per value, comma-separated")
	flag.IntVar(&cfg.threads, "threads", 1, "wrk threads")
	flag.StringVar(&cfg.load, "load", "auto", "load generator: wrk, go, or auto (wrk when installed)")
	flag.StringVar(&cfg.rows, "rows", "insitu-direct,insitu,cgi,ceiling", "rows to run, in order")
	flag.StringVar(&cfg.insitu, "insitu", "", "insitu binary to use (default: build ./cmd/insitu)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory")
	flag.StringVar(&cfg.cc, "cc", "cc", "C compiler for the native CGI program")
	flag.IntVar(&cfg.rounds, "rounds", 1, "measure every row this many times, the rows interleaved (row A, row B, row A, ...); with more than one, a table of medians follows the rounds")
	flag.IntVar(&cfg.hangups, "hangups", 0, "after the tables, this many insitu requests whose client hangs up right after sending")
	flag.Parse()
	for _, c := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench/services: bad -conns %q\n", *conns)
			os.Exit(2)
		}
		cfg.connsList = append(cfg.connsList, n)
	}
	if cfg.load == "auto" {
		cfg.load = "go"
		if _, err := exec.LookPath("wrk"); err == nil {
			cfg.load = "wrk"
		}
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/services:", err)
		os.Exit(1)
	}
}

// target is one way of serving hello.
type target struct {
	name, url string
	host      string       // the Host header to send, when not url's
	pids      func() []int // processes whose CPU counts as the server's
	// workers: the children in pids (live, and reaped by a negative
	// pid) are workers, whose CPU is also reported apart.
	workers bool
	note    string
}

type result struct {
	target
	load loadResult
	cpu  time.Duration // server CPU in the measured window
	// workerCPU is the part of cpu spent in worker processes (0: not split).
	workerCPU time.Duration
}

func run(cfg *config) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "insitu-bench-services-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintln(os.Stderr, "temporary directory:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	printMachine(cfg)
	var targets []target
	for _, row := range strings.Split(cfg.rows, ",") {
		var t target
		switch strings.TrimSpace(row) {
		case "insitu":
			srv, err := startInsitu(ctx, cfg, root, tmp, false)
			if err != nil {
				return err
			}
			defer srv.stop()
			t = srv.target
		case "insitu-direct":
			srv, err := startInsitu(ctx, cfg, root, tmp, true)
			if err != nil {
				return err
			}
			defer srv.stop()
			t = srv.target
		case "cgi":
			t, err = startCGI(cfg, root, tmp)
		case "ceiling":
			t, err = startCeiling()
		case "inproc":
			t, err = startInproc(ctx, root)
		case "onehop":
			t, err = startOnehop(ctx, root, tmp, runtime.NumCPU(), onehopBare)
		case "onehop+rec":
			t, err = startOnehop(ctx, root, tmp, runtime.NumCPU(), onehopRecord)
		case "direct":
			t, err = startOnehop(ctx, root, tmp, slices.Max(cfg.connsList), onehopPerConn)
		default:
			return fmt.Errorf("unknown row %q", row)
		}
		if err != nil {
			return err
		}
		if err := check(t); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		targets = append(targets, t)
	}

	for _, conns := range cfg.connsList {
		cfg.conns = conns
		rounds, err := measure(ctx, cfg, targets)
		if err != nil {
			return err
		}
		for i, results := range rounds {
			if len(rounds) > 1 {
				fmt.Printf("\nround %d of %d", i+1, len(rounds))
			}
			report(cfg, results)
		}
		if len(rounds) > 1 {
			reportMedians(cfg, rounds)
		}
	}
	if cfg.hangups > 0 {
		fmt.Printf("\nClients that hang up right after sending their request:\n\n")
		fmt.Println("| row | hang-ups | server CPU per hang-up | same worker processes after |")
		fmt.Println("|---|---:|---:|---|")
		for _, t := range targets {
			if !t.workers {
				continue // in this process, its CPU would include the client's
			}
			if err := hangups(t, cfg.hangups); err != nil {
				return fmt.Errorf("%s hang-ups: %w", t.name, err)
			}
		}
	}
	for _, t := range targets {
		if strings.HasPrefix(t.name, "insitu") {
			printInsituStats(ctx)
		}
	}
	return nil
}

// measure warms every target up once, then measures each of them
// cfg.rounds times, interleaved, so that a change in the machine's load
// falls on every row alike. It returns the results by round.
func measure(ctx context.Context, cfg *config, targets []target) ([][]result, error) {
	for _, t := range targets {
		if cfg.warmup <= 0 {
			break
		}
		fmt.Fprintf(os.Stderr, "%s: warm-up %v with %d connections (%s) ...\n", t.name, cfg.warmup, cfg.conns, cfg.load)
		if _, err := generate(ctx, cfg, t, cfg.warmup); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", t.name, err)
		}
	}
	var rounds [][]result
	for range max(cfg.rounds, 1) {
		var results []result
		for _, t := range targets {
			fmt.Fprintf(os.Stderr, "%s: %v with %d connections ...\n", t.name, cfg.duration, cfg.conns)
			before, wBefore := cpuOf(t.pids()), workerCPU(t)
			lr, err := generate(ctx, cfg, t, cfg.duration)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			results = append(results, result{target: t, load: lr, cpu: cpuOf(t.pids()) - before, workerCPU: workerCPU(t) - wBefore})
			if err := check(t); err != nil {
				return nil, fmt.Errorf("%s after the load: %w", t.name, err)
			}
		}
		rounds = append(rounds, results)
	}
	return rounds, nil
}

// workerCPU is the CPU of t's worker processes so far (0 when t has none).
func workerCPU(t target) time.Duration {
	if !t.workers {
		return 0
	}
	return childCPUOf(t.pids())
}

// check fetches t once and insists on exactly the hello response.
func check(t target) error {
	req, _ := http.NewRequest(http.MethodGet, t.url, nil)
	if t.host != "" {
		req.Host = t.host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "hello\n" || resp.Header.Get("Content-Type") != "text/plain" {
		return fmt.Errorf("GET %s: %d %q %v, want 200 \"hello\\n\" text/plain", t.url, resp.StatusCode, b, resp.Header)
	}
	return nil
}

// repoRoot finds the insitu module from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/insitu-cloud/insitu\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from inside the insitu repository")
		}
		dir = parent
	}
}

// listenLoopback returns a listener on a free loopback port.
func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// startCGI compiles hello.c natively and serves it with net/http/cgi:
// every request forks and execs the program.
func startCGI(cfg *config, root, tmp string) (target, error) {
	bin := filepath.Join(tmp, "hello-cgi")
	src := filepath.Join(root, "examples", "services", "hello", "hello.c")
	if out, err := exec.Command(cfg.cc, "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		return target{}, fmt.Errorf("%s -O2 %s: %v\n%s", cfg.cc, src, err, out)
	}
	ln, err := listenLoopback()
	if err != nil {
		return target{}, err
	}
	mux := http.NewServeMux()
	mux.Handle("/svc/hello/", &cgi.Handler{Path: bin, Root: "/svc/hello"})
	go http.Serve(ln, mux)
	self := os.Getpid()
	return target{name: "cgi", url: "http://" + ln.Addr().String() + "/svc/hello/",
		pids: func() []int { return []int{-self} }, // this process and its reaped children
		note: "hello.c built with " + cfg.cc + " -O2, net/http/cgi, fork+exec per request"}, nil
}

// startCeiling serves the same bytes from an in-process handler.
func startCeiling() (target, error) {
	ln, err := listenLoopback()
	if err != nil {
		return target{}, err
	}
	body := []byte("hello\n")
	mux := http.NewServeMux()
	mux.HandleFunc("/svc/hello/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	go http.Serve(ln, mux)
	self := os.Getpid()
	return target{name: "ceiling", url: "http://" + ln.Addr().String() + "/svc/hello/",
		pids: func() []int { return []int{self} },
		note: "in-process Go handler, no isolation"}, nil
}

func init() {
	// The CGI and ceiling servers run in this process: give them the same
	// CPUs insitu gets.
	runtime.GOMAXPROCS(runtime.NumCPU())
}
