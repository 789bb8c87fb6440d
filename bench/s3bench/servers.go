package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
)

const (
	accessKey = "s3benchaccesskey"
	secretKey = "s3benchsecretkey0123456789"
)

// target is one running server and the client that drives it.
type target struct {
	name     string
	bin      string
	version  string
	endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
	logPath  string
	load     *s3load.Loader
}

// env owns the temporary directory and the running servers.
type env struct {
	root     string
	targets  []*target
	keepLogs bool
}

// findMinio resolves the minio binary (s3load.FindMinio), adding how to
// measure insitu alone.
func findMinio(given string) (string, error) {
	p, err := s3load.FindMinio(given)
	if err != nil {
		return "", fmt.Errorf("%w\n(or run with -servers insitu to measure insitu alone)", err)
	}
	return p, nil
}

// newEnv creates the data directories, resolves or builds the binaries,
// starts the servers and waits until each answers S3 requests.
func newEnv(ctx context.Context, cfg *config) (*env, error) {
	minio := ""
	for _, name := range cfg.servers {
		if name == "minio" {
			var err error
			if minio, err = findMinio(cfg.minio); err != nil {
				return nil, err
			}
		}
	}
	root, err := os.MkdirTemp(cfg.dir, "s3bench-")
	if err != nil {
		return nil, err
	}
	e := &env{root: root, keepLogs: cfg.keepLogs}
	for _, name := range cfg.servers {
		t := &target{name: name}
		switch name {
		case "insitu":
			if t.bin = cfg.insitu; t.bin == "" {
				t.bin = filepath.Join(root, "insitu")
				fmt.Fprintln(os.Stderr, "building insitu ...")
				b := exec.CommandContext(ctx, "go", "build", "-o", t.bin, "github.com/insitu-cloud/insitu/cmd/insitu")
				b.Stdout, b.Stderr = os.Stderr, os.Stderr
				if err := b.Run(); err != nil {
					return e, fmt.Errorf("building insitu (run from the insitu module or pass -insitu): %w", err)
				}
			}
		case "minio":
			t.bin = minio
		}
		e.targets = append(e.targets, t)
		if err := e.start(ctx, cfg, t); err != nil {
			return e, err
		}
	}
	return e, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (e *env) start(ctx context.Context, cfg *config, t *target) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	data := filepath.Join(e.root, t.name+"-data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return err
	}
	var health string
	switch t.name {
	case "insitu":
		t.cmd = exec.Command(t.bin, "server", "--data", data, "--listen", addr, "--log-level", cfg.logLevel)
		t.cmd.Env = append(os.Environ(), "INSITU_ROOT_ACCESS_KEY="+accessKey, "INSITU_ROOT_SECRET_KEY="+secretKey)
		health = "/healthz"
		t.version = s3load.VersionOf(t.bin, "version")
	case "minio":
		cport, err := freePort()
		if err != nil {
			return err
		}
		t.cmd = exec.Command(t.bin, "server", data, "--address", addr,
			"--console-address", fmt.Sprintf("127.0.0.1:%d", cport), "--quiet")
		t.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+accessKey, "MINIO_ROOT_PASSWORD="+secretKey,
			"MINIO_UPDATE=off", "MINIO_BROWSER=off")
		health = "/minio/health/ready"
		t.version = s3load.VersionOf(t.bin, "--version")
	}
	t.endpoint = "http://" + addr
	t.logPath = filepath.Join(e.root, t.name+".log")
	logf, err := os.Create(t.logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	t.cmd.Stdout, t.cmd.Stderr = logf, logf
	// Own process group: a ^C to s3bench does not reach the servers, which
	// are stopped (and their data removed) by env.close.
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := t.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", t.name, err)
	}
	t.done = make(chan struct{})
	go func() { _ = t.cmd.Wait(); close(t.done) }()
	if err := waitHealthy(ctx, t, health); err != nil {
		return fmt.Errorf("%s did not become healthy: %w (log: %s)\n%s", t.name, err, t.logPath, tail(t.logPath))
	}
	t.load = s3load.NewLoader(t.endpoint, accessKey, secretKey, cfg.signed)
	return nil
}

func waitHealthy(ctx context.Context, t *target, path string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-t.done:
			return errors.New("process exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(t.endpoint + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("timed out after 60s")
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// close stops the servers (SIGTERM, then SIGKILL after 10 s) and removes
// the temporary directory with both servers' data.
func (e *env) close() {
	for _, t := range e.targets {
		t.stop()
	}
	if e.keepLogs {
		for _, t := range e.targets {
			keep := filepath.Join(os.TempDir(), fmt.Sprintf("s3bench-%s-%d.log", t.name, os.Getpid()))
			if err := os.Rename(t.logPath, keep); err == nil {
				fmt.Fprintf(os.Stderr, "%s log kept at %s\n", t.name, keep)
			}
		}
	}
	if err := os.RemoveAll(e.root); err != nil {
		fmt.Fprintln(os.Stderr, "s3bench: removing", e.root, err)
	}
}

func (t *target) stop() {
	if t.cmd == nil || t.cmd.Process == nil {
		return
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		_ = t.cmd.Process.Kill()
		<-t.done
	}
}
