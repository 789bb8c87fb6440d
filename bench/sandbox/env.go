package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// app is one example program: its WebAssembly build and its native build.
type app struct {
	name   string
	wasm   []byte
	id     string // ModuleID: hex SHA-256 of wasm
	native string // path of the baseline native build (-cc)
	extra  []nativeBuild
}

// nativeBuild is a native build by another compiler (-cc-extra), shown
// for reference.
type nativeBuild struct {
	cc, path string
}

func (a *app) spec() sandbox.Spec {
	w := a.wasm
	return sandbox.Spec{ModuleID: a.id, Wasm: func() ([]byte, error) { return w, nil }, Args: []string{a.name}}
}

type benchEnv struct {
	cfg     *config
	tmp     string // removed at exit
	exe     string // this binary: the sandbox workers
	profDir string // -worker-profile as an absolute path, or ""
	wc, sha *app
}

func (e *benchEnv) loadApps() error {
	for _, p := range []**app{&e.wc, &e.sha} {
		name := "wc"
		if p == &e.sha {
			name = "sha256"
		}
		b, err := os.ReadFile(filepath.Join(e.cfg.apps, name, name+".wasm"))
		if err != nil {
			return fmt.Errorf("%w (run from the module root or set -apps)", err)
		}
		sum := sha256.Sum256(b)
		*p = &app{name: name, wasm: b, id: hex.EncodeToString(sum[:])}
	}
	return nil
}

// buildNative compiles wc.c and sha256.c for this machine into the temp
// directory with -cc, and with each -cc-extra compiler found in PATH. The
// sources are portable POSIX C; gcc ignores sha256.c's clang unroll
// pragmas.
func (e *benchEnv) buildNative() error {
	for _, a := range []*app{e.wc, e.sha} {
		out, err := e.compile(e.cfg.cc, a)
		if err != nil {
			return err
		}
		a.native = out
		for _, cc := range e.cfg.ccExtra {
			if _, err := exec.LookPath(cc); err != nil {
				continue
			}
			out, err := e.compile(cc, a)
			if err != nil {
				return err
			}
			a.extra = append(a.extra, nativeBuild{cc, out})
		}
	}
	return nil
}

func (e *benchEnv) compile(cc string, a *app) (string, error) {
	src := filepath.Join(e.cfg.apps, a.name, a.name+".c")
	out := filepath.Join(e.tmp, a.name+"-native-"+filepath.Base(cc))
	args := append(append([]string{}, e.cfg.cflags...), "-Wno-unknown-pragmas", "-o", out, src)
	cmd := exec.Command(cc, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", cc, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// newRuntime starts a sandbox Runtime whose workers are this binary.
func (e *benchEnv) newRuntime(ctx context.Context, workers int) (*sandbox.Runtime, error) {
	dir, err := os.MkdirTemp(e.tmp, "rt-")
	if err != nil {
		return nil, err
	}
	argv := []string{e.exe}
	if e.profDir != "" {
		// The worker's environment is filtered; the directory travels
		// as an argument.
		argv = append(argv, workerProfileArg, e.profDir)
	}
	return sandbox.New(ctx, sandbox.Config{
		Workers:       workers,
		WorkerCommand: argv,
		TempDir:       dir,
		CacheDir:      filepath.Join(dir, "cache"),
	})
}

// closeRuntime closes r, first asking profiled workers to flush their
// profiles (Close kills them with SIGKILL).
func (e *benchEnv) closeRuntime(r *sandbox.Runtime) {
	if e.cfg.workerProf != "" {
		for _, pid := range childPIDs() {
			syscall.Kill(pid, syscall.SIGUSR1)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.Close()
}
