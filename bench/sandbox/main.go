// Command sandbox benchmarks insitu's WebAssembly sandbox
// (internal/sandbox) against the same C programs compiled natively with
// gcc and started the Unix way, with fork+exec, in one run:
//
//   - latency: p50/p99/mean of a whole run (instantiate, _start, exit)
//     of the C word count (examples/apps/wc/wc.wasm) over 1 KiB of stdin
//     through Runtime.Run on the worker path, against fork+exec of wc.c
//     built with gcc;
//
//   - throughput: wc and sha256 over a 1 GiB object stored with
//     internal/store/local, the guest reading the object's data file in
//     place, against the native programs (and coreutils wc/sha256sum) on
//     the same bytes in a plain file; every output is checked;
//
//   - density: runs per second with every core busy, worker memory per
//     concurrent run, and the same runs/s for fork+exec.
//
// Usage (from the module root):
//
//	go run ./bench/sandbox                       # everything
//	go run ./bench/sandbox -bench latency -n 20000
//	go run ./bench/sandbox -bench throughput -size 256MiB -data /var/tmp/sb
//
// -apps points at examples/apps from elsewhere. gcc is
// needed; nothing is downloaded. The throughput data (about 4x -size on
// disk) is written once under -data and reused.
//
// This binary is also its own sandbox worker: sandbox.Runtime re-executes
// it, and main hands such a process to sandbox.WorkerMain first thing.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// workerProfileArg, followed by a directory in a worker's arguments, makes
// the worker write a CPU profile there until it receives SIGUSR1.
const workerProfileArg = "-worker-profile-dir"

func main() {
	if sandbox.IsWorkerProcess() {
		os.Exit(workerMain())
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox bench:", err)
		os.Exit(1)
	}
}

// workerMain is sandbox.WorkerMain, optionally under the CPU profiler.
// Workers die by SIGKILL when the Runtime closes, so the profile is
// flushed on SIGUSR1, which the parent sends before closing.
func workerMain() int {
	if len(os.Args) == 3 && os.Args[1] == workerProfileArg {
		dir := os.Args[2]
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.pprof", os.Getpid())))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			c := make(chan os.Signal, 1)
			signal.Notify(c, syscall.SIGUSR1)
			go func() {
				<-c
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	return sandbox.WorkerMain()
}

type config struct {
	benches    map[string]bool
	apps       string
	workers    int
	n, nativeN int
	warmup     int
	inputSize  int
	size       int64
	dataDir    string
	reps       int
	pipe       bool
	duration   time.Duration
	warmupDur  time.Duration
	callers    int
	cc         string
	ccExtra    []string
	cflags     []string
	markdown   bool
	cpuProfile string
	workerProf string
	rows       map[string]bool // latency rows to run; nil means all
}

func parseFlags() (*config, error) {
	c := &config{}
	var benches, size, cflags, ccExtra, rows string
	flag.StringVar(&benches, "bench", "latency,throughput,density", "comma-separated benchmarks: latency, throughput, density")
	flag.StringVar(&c.apps, "apps", "examples/apps", "directory holding wc/wc.{c,wasm} and sha256/sha256.{c,wasm}")
	flag.IntVar(&c.workers, "workers", runtime.NumCPU(), "sandbox worker processes (Config.Workers)")
	flag.IntVar(&c.n, "n", 5000, "latency: measured insitu runs")
	flag.IntVar(&c.nativeN, "native-n", 1000, "latency: measured fork+exec runs")
	flag.IntVar(&c.warmup, "warmup", 500, "latency: unmeasured runs before each row (a tenth of it for fork+exec)")
	flag.IntVar(&c.inputSize, "input", 1024, "latency and density: bytes of stdin per run")
	flag.StringVar(&size, "size", "1GiB", "throughput: object size (B, KiB, MiB, GiB)")
	flag.StringVar(&c.dataDir, "data", filepath.Join(os.TempDir(), "insitu-bench-sandbox"), "throughput: cache directory for the generated objects (reused when present)")
	flag.IntVar(&c.reps, "reps", 3, "throughput: measured passes per row (the median is reported)")
	flag.BoolVar(&c.pipe, "pipe", true, "throughput: also stream stdin to the guest through a pipe (Stdin.Reader)")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "density: measured time per row")
	flag.DurationVar(&c.warmupDur, "warmup-duration", 2*time.Second, "density: unmeasured time before each row")
	flag.IntVar(&c.callers, "callers", 16, "density: concurrent callers")
	flag.StringVar(&c.cc, "cc", "gcc", "C compiler for the native builds")
	flag.StringVar(&ccExtra, "cc-extra", "clang-14", "comma-separated compilers for extra native throughput rows, each used if found in PATH")
	flag.StringVar(&cflags, "cflags", "-O2", "flags for the native builds (the .wasm files are clang-14 -O2)")
	flag.BoolVar(&c.markdown, "markdown", false, "print tables as Markdown")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of this (parent) process")
	flag.StringVar(&c.workerProf, "worker-profile", "", "directory for CPU profiles of the sandbox worker processes")
	flag.StringVar(&rows, "rows", "", "latency: comma-separated rows to run (memory, object, native, inprocess); empty runs all")
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	c.benches = map[string]bool{}
	for _, b := range strings.Split(benches, ",") {
		b = strings.TrimSpace(b)
		switch b {
		case "latency", "throughput", "density":
			c.benches[b] = true
		case "":
		default:
			return nil, fmt.Errorf("-bench: unknown benchmark %q", b)
		}
	}
	if rows != "" {
		c.rows = map[string]bool{}
		for _, r := range strings.Split(rows, ",") {
			switch r = strings.TrimSpace(r); r {
			case "memory", "object", "native", "inprocess":
				c.rows[r] = true
			default:
				return nil, fmt.Errorf("-rows: unknown row %q", r)
			}
		}
	}
	var err error
	if c.size, err = parseSize(size); err != nil {
		return nil, fmt.Errorf("-size: %w", err)
	}
	c.cflags = strings.Fields(cflags)
	for _, cc := range strings.Split(ccExtra, ",") {
		if cc = strings.TrimSpace(cc); cc != "" && cc != c.cc {
			c.ccExtra = append(c.ccExtra, cc)
		}
	}
	if c.workers < 1 || c.n < 1 || c.nativeN < 1 || c.reps < 1 || c.callers < 1 || c.inputSize < 1 {
		return nil, fmt.Errorf("-workers, -n, -native-n, -reps, -callers and -input must be positive")
	}
	return c, nil
}

func run() error {
	cfg, err := parseFlags()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp, err := os.MkdirTemp("", "insitu-bench-sandbox-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	profDir := ""
	if cfg.workerProf != "" {
		dir, err := filepath.Abs(cfg.workerProf)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		profDir = dir
	}

	env := &benchEnv{cfg: cfg, tmp: tmp, profDir: profDir}
	if env.exe, err = os.Executable(); err != nil {
		return err
	}
	if err := env.loadApps(); err != nil {
		return err
	}
	if err := env.buildNative(); err != nil {
		return err
	}
	printMachine(cfg)
	fmt.Printf("load average at start: %s\n", loadAvg())

	if cfg.benches["latency"] {
		if err := env.latency(ctx); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
	}
	if cfg.benches["throughput"] {
		if err := env.throughput(ctx); err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
	}
	if cfg.benches["density"] {
		if err := env.density(ctx); err != nil {
			return fmt.Errorf("density: %w", err)
		}
	}
	fmt.Printf("\nload average at end: %s\n", loadAvg())
	return nil
}
