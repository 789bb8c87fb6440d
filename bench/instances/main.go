// Command instances measures how fast insitu's EC2 face turns
// RunInstances into a usable virtual machine (issue 10), on this machine's
// accelerator (TCG where KVM cannot boot a stock kernel):
//
//	make images && go run ./bench/instances [-n 10] [-parallel 4] [-accel auto] [-tcg-vcpus 1]
//
// For the tiny image (examples/images/tiny), it measures from the
// RunInstances call to: DescribeInstances reporting "running", the first
// console line (GetConsoleOutput), and port 80 answering with the
// instance's page through its public address, for -n instances one after
// another and for -parallel at once; p50 and max of each. The peer, in the
// same run, is the same image booted by internal/vm alone ("bare": the
// same QEMU command line and metadata, no API, no control plane, no image
// fetch), so the ratio insitu/bare is what the cloud around the machine
// costs. Port 80 is tried with a fresh connection every 50 ms without
// waiting for the earlier ones (-sequential-poll: one 2 s request at a
// time, which is late by up to 2 s: a connection made before the guest
// has its address waits in slirp for a SYN retransmit). -tcg-vcpus is the
// node's --instance-tcg-vcpus and caps the bare machines' vCPUs alike
// under TCG. It also prints each instance's QEMU CPU time (user+system)
// and resident memory once its page answers, how many instances of the
// type fit the node's memory, and the load average at start and end.
//
// Anchors from elsewhere (not run here): Firecracker boots a microVM in
// about 125 ms under KVM; EC2 takes tens of seconds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/insitu-cloud/insitu/bench/internal/benchnode"
)

type config struct {
	n, parallel int
	accel       string
	itype       string
	insitu      string
	image       string
	keep        bool
	seqPoll     bool
	tcgVCPUs    int
}

func main() {
	cfg := &config{}
	flag.IntVar(&cfg.n, "n", 10, "instances launched one after another")
	flag.IntVar(&cfg.parallel, "parallel", 4, "instances launched at once")
	flag.StringVar(&cfg.accel, "accel", "auto", "the node's --instance-accel: auto, kvm or tcg")
	flag.StringVar(&cfg.itype, "type", "t3.nano", "instance type")
	flag.StringVar(&cfg.insitu, "insitu", "", "a prebuilt insitu binary (default: build ./cmd/insitu)")
	flag.StringVar(&cfg.image, "image", "examples/images/tiny", "the built tiny image (make images)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory")
	flag.IntVar(&cfg.tcgVCPUs, "tcg-vcpus", 1, "the node's --instance-tcg-vcpus, and the bare machines' cap under TCG (0: the type's vCPUs)")
	flag.BoolVar(&cfg.seqPoll, "sequential-poll", false, "poll port 80 one request at a time (2 s each), as before; default: a fresh request every 50 ms")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "instances:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg *config) error {
	if _, err := os.Stat(filepath.Join(cfg.image, "manifest.json")); err != nil {
		return fmt.Errorf("the tiny image is not built (run make images): %w", err)
	}
	dir, err := os.MkdirTemp("", "insitu-bench-instances-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintln(os.Stderr, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	defer killQEMUs(dir)
	bin, err := benchnode.Build(ctx, ".", dir, cfg.insitu)
	if err != nil {
		return err
	}
	node, err := benchnode.Start(bin, dir, "BENCHINSTANCESROOT00", "bench-instances-secret-key-0000000000000", "--instance-accel", cfg.accel,
		"--instance-tcg-vcpus", strconv.Itoa(cfg.tcgVCPUs))
	if err != nil {
		return err
	}
	defer node.Stop()
	cl, err := setup(ctx, node, cfg)
	if err != nil {
		return err
	}
	printHeader(cfg)
	seq, err := cl.rounds(ctx, cfg.n, 1)
	if err != nil {
		return err
	}
	par, err := cl.rounds(ctx, cfg.parallel, cfg.parallel)
	if err != nil {
		return err
	}
	bseq, bpar, err := bareRounds(ctx, bin, dir, cfg)
	if err != nil {
		return err
	}
	report(cfg, seq, par, bseq, bpar)
	return nil
}
