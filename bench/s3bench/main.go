// Command s3bench measures insitu against MinIO on the same machine, the
// same disk and in the same run, with one load client (aws-sdk-go-v2) for
// both servers.
//
// It starts both servers as subprocesses on data directories under one
// temporary parent, runs every row (PUT, GET, and unsigned GET allowed by a
// bucket policy, of small and large objects
// at several concurrencies, then a full paginated listing of a bucket of
// 10,000 keys) against each server back to back, prints a table with the
// ratio insitu/minio, then stops the servers and removes their data.
//
//	go run ./bench/s3bench -minio /tmp/minio-bin/minio
//
// Nothing is downloaded at run time: the minio binary comes from -minio,
// INSITU_BENCH_MINIO, PATH or $(go env GOPATH)/bin. The insitu binary comes
// from -insitu or is built from this module into the temporary directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
)

type config struct {
	duration time.Duration
	warmup   time.Duration
	concs    []int
	sizes    []int64
	servers  []string
	insitu   string
	minio    string
	dir      string
	listKeys int
	post     bool
	versions bool
	listSize int64
	signed   bool
	markdown bool
	keepLogs bool
	logLevel string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "s3bench:", err)
		os.Exit(1)
	}
}

func parseFlags() (*config, error) {
	c := &config{}
	var concs, sizes, servers, payload string
	flag.DurationVar(&c.duration, "duration", 8*time.Second, "measured time per row and server")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each row")
	flag.StringVar(&concs, "concurrency", "1,16", "comma-separated concurrency levels")
	flag.StringVar(&sizes, "sizes", "4KiB,16MiB", "comma-separated object sizes (B, KiB, MiB, GiB)")
	flag.StringVar(&servers, "servers", "insitu,minio", "comma-separated servers to run: insitu, minio")
	flag.StringVar(&c.insitu, "insitu", os.Getenv("INSITU_BENCH_INSITU"), "insitu binary; empty builds ./cmd/insitu [INSITU_BENCH_INSITU]")
	flag.StringVar(&c.minio, "minio", os.Getenv("INSITU_BENCH_MINIO"), "minio binary; empty looks up PATH and $(go env GOPATH)/bin [INSITU_BENCH_MINIO]")
	flag.StringVar(&c.dir, "dir", os.TempDir(), "parent directory for both servers' data (one filesystem)")
	flag.IntVar(&c.listKeys, "list-keys", 10000, "keys in the listed bucket (0 skips the LIST row)")
	flag.BoolVar(&c.post, "post", false, "also measure browser-form uploads (POST Object, SigV4 POST policy) of each size")
	flag.BoolVar(&c.versions, "versioned", false, "also measure PUT (a new version of one of 8 keys per worker) and GET in a bucket with versioning enabled")
	flag.Int64Var(&c.listSize, "list-size", 4096, "size in bytes of each object in the listed bucket")
	flag.StringVar(&payload, "payload", "unsigned", "PUT payload signing: unsigned (UNSIGNED-PAYLOAD) or signed (SHA-256 of the body)")
	flag.BoolVar(&c.markdown, "markdown", false, "print the tables as Markdown")
	flag.BoolVar(&c.keepLogs, "keep-logs", false, "keep the servers' logs (their path is printed)")
	flag.StringVar(&c.logLevel, "insitu-log-level", "info", "insitu --log-level (info logs every request, its default)")
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	var err error
	if c.concs, err = s3load.ParseInts(concs); err != nil {
		return nil, fmt.Errorf("-concurrency: %w", err)
	}
	if c.sizes, err = s3load.ParseSizes(sizes); err != nil {
		return nil, fmt.Errorf("-sizes: %w", err)
	}
	for _, s := range strings.Split(servers, ",") {
		s = strings.TrimSpace(s)
		if s != "insitu" && s != "minio" {
			return nil, fmt.Errorf("-servers: unknown server %q (want insitu, minio)", s)
		}
		c.servers = append(c.servers, s)
	}
	switch payload {
	case "unsigned":
	case "signed":
		c.signed = true
	default:
		return nil, fmt.Errorf("-payload %q: want unsigned or signed", payload)
	}
	if c.duration <= 0 || c.warmup < 0 {
		return nil, fmt.Errorf("-duration must be > 0 and -warmup >= 0")
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

	env, err := newEnv(ctx, cfg)
	if env != nil {
		defer env.close()
	}
	if err != nil {
		return err
	}
	printHeader(cfg, env)
	results, err := runRows(ctx, cfg, env.targets)
	printTables(os.Stdout, cfg, env.targets, results)
	return err
}

func printHeader(cfg *config, env *env) {
	fmt.Printf("s3bench: %s measured + %s warm-up per row and server; payload %s; client aws-sdk-go-v2 (checksums when_required)\n",
		cfg.duration, cfg.warmup, map[bool]string{true: "signed", false: "unsigned"}[cfg.signed])
	fmt.Printf("data under %s\n", env.root)
	for _, t := range env.targets {
		fmt.Printf("%-6s %s (%s) at %s\n", t.name, t.bin, t.version, t.endpoint)
	}
	fmt.Printf("load average at start: %s\n\n", s3load.LoadAvg())
}
