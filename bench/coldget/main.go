// Command coldget measures how fast store/local serves objects it has
// just written (cold: a data file written with O_DIRECT leaves nothing
// in the page cache) and the same objects read again (warm), in one
// process, without HTTP: the engine's GetObject, copied to io.Discard by
// -c readers at once (or, with -tcp, to a loopback TCP connection per
// reader whose other end discards, as a GET's body goes to its client).
// Each round overwrites every key first, so each
// round's first read is cold again.
//
//	go run ./bench/coldget -dir /tmp -n 32 -size 16MiB -c 1,16 -rounds 3
//
// The data lives in a temporary directory under -dir (the filesystem
// measured), removed at the end. Nothing is downloaded.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

type config struct {
	dir    string
	n      int
	size   int64
	concs  []int
	rounds int
	tcp    bool
}

func main() {
	cfg, err := parseFlags()
	if err == nil {
		err = run(context.Background(), cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldget:", err)
		os.Exit(1)
	}
}

func parseFlags() (config, error) {
	var c config
	var size, concs string
	flag.StringVar(&c.dir, "dir", os.TempDir(), "parent directory of the engine's data (the filesystem measured)")
	flag.IntVar(&c.n, "n", 32, "objects per round")
	flag.StringVar(&size, "size", "16MiB", "object size (B, KiB or MiB)")
	flag.StringVar(&concs, "c", "1,16", "comma-separated reader counts")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds per reader count")
	flag.BoolVar(&c.tcp, "tcp", false, "copy each object to a loopback TCP connection instead of io.Discard")
	flag.Parse()
	var err error
	if c.size, err = parseSize(size); err != nil {
		return c, err
	}
	for _, s := range strings.Split(concs, ",") {
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 {
			return c, fmt.Errorf("bad reader count %q", s)
		}
		c.concs = append(c.concs, k)
	}
	return c, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}

// run opens an engine in a temporary directory and prints, per reader
// count and round, the cold and the warm read rate.
func run(ctx context.Context, cfg config) error {
	dir, err := os.MkdirTemp(cfg.dir, "coldget-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, err := local.Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b"}); err != nil {
		return err
	}
	body := make([]byte, cfg.size)
	for i := range body {
		body[i] = byte(i*7 + i>>12)
	}
	for _, c := range cfg.concs {
		for r := 0; r < cfg.rounds; r++ {
			if err := putAll(ctx, e, cfg.n, body); err != nil {
				return err
			}
			cold, err := readAll(ctx, e, cfg, c)
			if err != nil {
				return err
			}
			warm, err := readAll(ctx, e, cfg, c)
			if err != nil {
				return err
			}
			fmt.Printf("c%-3d round %d  cold %6.0f MiB/s  warm %6.0f MiB/s\n", c, r+1, cold, warm)
		}
	}
	return nil
}

func putAll(ctx context.Context, e *local.Engine, n int, body []byte) error {
	for i := 0; i < n; i++ {
		if _, err := e.PutObject(ctx, "b", key(i), bytes.NewReader(body), int64(len(body)), store.PutOptions{}); err != nil {
			return err
		}
	}
	return nil
}

func key(i int) string { return fmt.Sprintf("k%04d", i) }

// readAll reads every key once with c readers and returns MiB/s.
func readAll(ctx context.Context, e *local.Engine, cfg config, c int) (float64, error) {
	keys := make(chan string, cfg.n)
	for i := 0; i < cfg.n; i++ {
		keys <- key(i)
	}
	close(keys)
	sinks := make([]io.Writer, c)
	for w := range sinks {
		sinks[w] = io.Discard
		if cfg.tcp {
			conn, closeSink, err := tcpSink()
			if err != nil {
				return 0, err
			}
			defer closeSink()
			sinks[w] = conn
		}
	}
	errs := make(chan error, c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- readKeys(ctx, e, keys, sinks[w], cfg.size)
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(int64(cfg.n)*cfg.size) / (1 << 20) / secs, nil
}

// tcpSink returns one end of a loopback TCP connection whose other end
// a goroutine reads and discards, and a func that closes both and waits
// for that goroutine.
func tcpSink() (net.Conn, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	peer, err := ln.Accept()
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(io.Discard, peer)
	}()
	return conn, func() { conn.Close(); <-done; peer.Close() }, nil
}

func readKeys(ctx context.Context, e *local.Engine, keys <-chan string, sink io.Writer, size int64) error {
	for k := range keys {
		_, rc, err := e.GetObject(ctx, "b", k, nil)
		if err != nil {
			return err
		}
		got, err := io.Copy(sink, rc)
		rc.Close()
		if err != nil {
			return err
		}
		if got != size {
			return fmt.Errorf("%s: read %d bytes, want %d", k, got, size)
		}
	}
	return nil
}
