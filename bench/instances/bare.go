package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insitu-cloud/insitu/internal/vm"
)

// bare boots the image with internal/vm alone: the same QEMU command line
// and a metadata server of its own, without the API, the records, the
// image fetch or the scheduler.
type bare struct {
	bin, dir string
	spec     vm.Spec
	seqPoll  bool
	seq      atomic.Int64
}

func bareRounds(ctx context.Context, bin, dir string, cfg *config) (seq, par []sample, err error) {
	b, err := newBare(ctx, bin, dir, cfg)
	if err != nil {
		return nil, nil, err
	}
	if seq, err = b.rounds(ctx, cfg.n, 1); err != nil {
		return nil, nil, err
	}
	par, err = b.rounds(ctx, cfg.parallel, cfg.parallel)
	return seq, par, err
}

func newBare(ctx context.Context, bin, dir string, cfg *config) (*bare, error) {
	var m struct{ Kernel, Initrd, Root, Cmdline string }
	raw, err := os.ReadFile(filepath.Join(cfg.image, "manifest.json"))
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	accel, err := vm.Probe(ctx, cfg.accel, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	abs := func(p string) string { a, _ := filepath.Abs(filepath.Join(cfg.image, p)); return a }
	spec := vm.Spec{Kernel: abs(m.Kernel), Initrd: abs(m.Initrd), Cmdline: m.Cmdline,
		MemoryMiB: typeMiB(cfg.itype), VCPUs: 2, Accel: accel}
	if accel == vm.AccelTCG && cfg.tcgVCPUs > 0 {
		spec.VCPUs = min(spec.VCPUs, cfg.tcgVCPUs) // as the node's --instance-tcg-vcpus
	}
	if m.Root != "" {
		spec.RootBase = abs(m.Root)
	}
	return &bare{bin: bin, dir: filepath.Join(dir, "bare"), spec: spec, seqPoll: cfg.seqPoll}, nil
}

func (b *bare) rounds(ctx context.Context, total, conc int) ([]sample, error) {
	var out []sample
	for len(out) < total {
		n := min(conc, total-len(out))
		res := make([]sample, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); res[i], errs[i] = b.one(ctx) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return out, err
			}
		}
		out = append(out, res...)
	}
	return out, nil
}

// one boots a machine on its own address 127.101.0.N, measures it and
// kills it.
func (b *bare) one(ctx context.Context) (sample, error) {
	var s sample
	n := b.seq.Add(1)
	id := fmt.Sprintf("i-bare%013d", n)
	spec := b.spec
	spec.Dir = filepath.Join(b.dir, id)
	ip := fmt.Sprintf("127.101.%d.%d", n/250, 1+n%250)
	spec.Forwards = []vm.Forward{{HostIP: ip, HostPort: 80, GuestPort: 80}}
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return s, err
	}
	sock := filepath.Join(spec.Dir, "imds.sock")
	stop, err := serveIMDS(sock, id)
	if err != nil {
		return s, err
	}
	defer stop()
	spec.MetadataCmd = []string{b.bin, "imds-relay", sock}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	start := time.Now()
	m, err := vm.Start(ctx, spec, slog.New(slog.DiscardHandler))
	if err != nil {
		return s, fmt.Errorf("bare: %w", err)
	}
	defer m.Kill(context.WithoutCancel(ctx))
	s.running = time.Since(start)
	if err := poll(ctx, 50*time.Millisecond, func() bool { t, _ := vm.ConsoleTail(spec.Dir, 1); return len(t) > 0 }); err != nil {
		return s, fmt.Errorf("bare %s: console: %w", id, err)
	}
	s.console = time.Since(start)
	if err := waitPage(ctx, ip, id, !b.seqPoll); err != nil {
		return s, fmt.Errorf("bare %s: port 80: %w", id, err)
	}
	s.http = time.Since(start)
	s.rssKiB = rssOf(spec.Dir)
	s.cpu = cpuOf(spec.Dir)
	return s, nil
}

// serveIMDS answers the two metadata paths the tiny guest needs for its
// page (instance-id; no key, no user data) on a unix socket.
func serveIMDS(sock, id string) (stop func(), err error) {
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "bench-token") })
	mux.HandleFunc("GET /latest/meta-data/instance-id", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, id) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	return func() { srv.Close(); <-done }, nil
}
