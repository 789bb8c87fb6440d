// Command insitu is the insitu server and command-line client. All of the
// work happens in internal/cli; this file only wires the process to it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/insitu-cloud/insitu/internal/cli"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/services"
)

func main() {
	// A node re-executes this binary to host sandbox runs in killable
	// worker processes; those skip the command line entirely.
	if sandbox.IsWorkerProcess() {
		os.Exit(sandbox.WorkerMainWith(services.DirectHandler))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
