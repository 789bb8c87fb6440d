// Package benchnode starts a real insitu server for the benchmarks under
// bench/: it builds (or takes) the binary, starts it on a free loopback
// port with fixed root keys and a data directory of its own, waits for
// /healthz, and stops it with SIGINT (SIGKILL after 15 s).
package benchnode

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Node is a running insitu server.
type Node struct {
	Endpoint             string // http://127.0.0.1:PORT
	AccessKey, SecretKey string // the root account
	LogPath              string
	cmd                  *exec.Cmd
}

// Build compiles ./cmd/insitu of the module at root into dir, unless bin
// is already given, and returns the binary's path.
func Build(ctx context.Context, root, dir, bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "insitu")
	fmt.Fprintln(os.Stderr, "building insitu ...")
	b := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/insitu")
	b.Dir, b.Stdout, b.Stderr = root, os.Stderr, os.Stderr
	if err := b.Run(); err != nil {
		return "", fmt.Errorf("building insitu: %w", err)
	}
	return bin, nil
}

// Start runs bin as a server with data and log under dir, root keys ak/sk
// and --log-level warn, plus any extra server flags, and waits until it is
// healthy (30 s at most).
func Start(bin, dir, ak, sk string, extra ...string) (*Node, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	n := &Node{Endpoint: "http://" + addr, AccessKey: ak, SecretKey: sk, LogPath: filepath.Join(dir, "insitu.log")}
	logf, err := os.Create(n.LogPath)
	if err != nil {
		return nil, err
	}
	args := []string{"server", "--data", filepath.Join(dir, "insitu-data"), "--listen", addr, "--log-level", "warn"}
	n.cmd = exec.Command(bin, append(args, extra...)...)
	n.cmd.Env = append(os.Environ(), "INSITU_ROOT_ACCESS_KEY="+ak, "INSITU_ROOT_SECRET_KEY="+sk)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	logf.Close() // the child holds its own copy
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(n.Endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return n, nil
			}
		}
		if time.Now().After(deadline) {
			n.Stop()
			log, _ := os.ReadFile(n.LogPath)
			return nil, fmt.Errorf("insitu did not become healthy at %s: %v\n%s", n.Endpoint, err, log)
		}
	}
}

// Pid is the server's process id (its sandbox workers are its children).
func (n *Node) Pid() int { return n.cmd.Process.Pid }

// Stop interrupts the server and waits for it; it is idempotent.
func (n *Node) Stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		n.cmd.Process.Kill()
		<-done
	}
	n.cmd = nil
}
