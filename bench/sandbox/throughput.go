package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// pass is one measured pass over the whole input.
type pass struct {
	wall, cpu time.Duration // cpu < 0: not measured
	out       string
}

type variant struct {
	name   string
	ref    bool // an I/O ceiling with no program (output not checked)
	native bool // the baseline of the ratio
	fn     func(ctx context.Context) (pass, error)
}

// throughputLimits lets a run take as long as a slow machine needs.
var throughputLimits = sandbox.Limits{Timeout: 30 * time.Minute}

func (e *benchEnv) insituObject(r *sandbox.Runtime, d *dataset, a *app, key string) func(context.Context) (pass, error) {
	return func(ctx context.Context) (pass, error) {
		var out bytes.Buffer
		t0 := time.Now()
		info, f, err := d.st.OpenFile(ctx, d.bucket, key)
		if err != nil {
			return pass{}, err
		}
		defer f.Close()
		s := a.spec()
		s.Stdin = sandbox.Stdin{File: f, Size: info.Size}
		s.Stdout, s.Limits = &out, throughputLimits
		res, err := r.Run(ctx, s)
		wall := time.Since(t0)
		if err != nil {
			return pass{}, err
		}
		if res.Status != sandbox.StatusExited || res.ExitCode != 0 {
			return pass{}, fmt.Errorf("run ended %s (exit %d): %s", res.Status, res.ExitCode, res.Reason)
		}
		if res.StdinBytes != d.size {
			return pass{}, fmt.Errorf("guest read %d bytes of stdin, want %d", res.StdinBytes, d.size)
		}
		return pass{wall: wall, cpu: res.CPU, out: out.String()}, nil
	}
}

// insituPipe streams the plain file to the guest through Stdin.Reader
// (the path of an HTTP request body): the parent copies it into a pipe.
func (e *benchEnv) insituPipe(r *sandbox.Runtime, d *dataset, a *app, path string) func(context.Context) (pass, error) {
	return func(ctx context.Context) (pass, error) {
		var out bytes.Buffer
		t0 := time.Now()
		f, err := os.Open(path)
		if err != nil {
			return pass{}, err
		}
		defer f.Close()
		s := a.spec()
		s.Stdin = sandbox.Stdin{Reader: f}
		s.Stdout, s.Limits = &out, throughputLimits
		res, err := r.Run(ctx, s)
		wall := time.Since(t0)
		if err != nil {
			return pass{}, err
		}
		if res.Status != sandbox.StatusExited || res.ExitCode != 0 {
			return pass{}, fmt.Errorf("run ended %s (exit %d): %s", res.Status, res.ExitCode, res.Reason)
		}
		return pass{wall: wall, cpu: res.CPU, out: out.String()}, nil
	}
}

// execFile runs argv with stdin = the file at path (the child gets the
// descriptor itself: `prog < file`).
func execFile(path string, argv ...string) func(context.Context) (pass, error) {
	return func(ctx context.Context) (pass, error) {
		var out, stderr bytes.Buffer
		f, err := os.Open(path)
		if err != nil {
			return pass{}, err
		}
		defer f.Close()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = f, &out, &stderr
		t0 := time.Now()
		err = cmd.Run()
		wall := time.Since(t0)
		if err != nil {
			return pass{}, fmt.Errorf("%s: %v: %s", argv[0], err, stderr.String())
		}
		ps := cmd.ProcessState
		return pass{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), out: out.String()}, nil
	}
}

// readPlain reads the plain file with read(2) in 64 KiB blocks: the
// ceiling of any program reading it from the page cache.
func readPlain(path string) func(context.Context) (pass, error) {
	return func(ctx context.Context) (pass, error) {
		f, err := os.Open(path)
		if err != nil {
			return pass{}, err
		}
		defer f.Close()
		t0 := time.Now()
		_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, make([]byte, 64<<10))
		return pass{wall: time.Since(t0), cpu: -1}, err
	}
}

// readObject reads the object's data file with the verifying blockfile
// reader the worker uses, here in this process: the ceiling of stdin =
// object without any guest or sandbox.
func readObject(d *dataset, key string) func(context.Context) (pass, error) {
	return func(ctx context.Context) (pass, error) {
		t0 := time.Now()
		info, f, err := d.st.OpenFile(ctx, d.bucket, key)
		if err != nil {
			return pass{}, err
		}
		defer f.Close()
		br, err := blockfile.OpenReader(f, info.Size)
		if err != nil {
			return pass{}, err
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{br}, make([]byte, 64<<10))
		if err == nil && n != d.size {
			err = fmt.Errorf("read %d bytes, want %d", n, d.size)
		}
		return pass{wall: time.Since(t0), cpu: -1}, err
	}
}

func (e *benchEnv) throughput(ctx context.Context) error {
	cfg := e.cfg
	d, err := openDataset(ctx, cfg.dataDir, cfg.size)
	if err != nil {
		return err
	}
	defer d.close()
	r, err := e.newRuntime(ctx, 1)
	if err != nil {
		return err
	}
	defer e.closeRuntime(r)

	type job struct {
		a         *app
		path, key string
		coreutils string
		check     func(out string) error
	}
	jobs := []job{
		{e.wc, d.textPath, d.textKey, "wc", func(out string) error {
			if got := strings.Join(strings.Fields(out), " "); got != d.wantWC {
				return fmt.Errorf("wc printed %q, want %q", got, d.wantWC)
			}
			return nil
		}},
		{e.sha, d.binPath, d.binKey, "sha256sum", func(out string) error {
			if f := strings.Fields(out); len(f) == 0 || f[0] != d.wantSHA256 {
				return fmt.Errorf("sha256 printed %q, want %s", out, d.wantSHA256)
			}
			return nil
		}},
	}
	t := &table{
		title:  fmt.Sprintf("Throughput over %s (median of %d passes; MB = 10^6 bytes; page cache warm)", mib(d.size), cfg.reps),
		header: []string{"program", "path", "MB/s", "wall", "CPU", "MB per CPU-s", "vs native " + cfg.cc, "same, by CPU"},
	}
	for _, j := range jobs {
		vs := []variant{
			{name: "read(2) of the plain file, 64 KiB (no program)", ref: true, fn: readPlain(j.path)},
			{name: "blockfile verified read of the object (no program)", ref: true, fn: readObject(d, j.key)},
			{name: "insitu, stdin = stored object (data file in place)", fn: e.insituObject(r, d, j.a, j.key)},
			{name: "native " + cfg.cc + " build, stdin = plain file", native: true, fn: execFile(j.path, j.a.native)},
		}
		for _, x := range j.a.extra {
			vs = append(vs, variant{name: "native " + x.cc + " build, stdin = plain file", fn: execFile(j.path, x.path)})
		}
		if cfg.pipe {
			vs = append(vs, variant{name: "insitu, stdin = plain file through a pipe (Stdin.Reader)", fn: e.insituPipe(r, d, j.a, j.path)})
		}
		if p, err := exec.LookPath(j.coreutils); err == nil {
			vs = append(vs, variant{name: "coreutils " + j.coreutils + ", stdin = plain file", fn: execFile(j.path, p)})
		}
		fmt.Printf("\nthroughput: %s over %s: one unmeasured pass each, then %d measured ...\n", j.a.name, mib(d.size), cfg.reps)
		walls := make([][]time.Duration, len(vs))
		cpus := make([][]time.Duration, len(vs))
		for rep := -1; rep < cfg.reps; rep++ {
			for i, v := range vs {
				p, err := v.fn(ctx)
				if err != nil {
					return fmt.Errorf("%s, %s: %w", j.a.name, v.name, err)
				}
				if !v.ref {
					if err := j.check(p.out); err != nil {
						return fmt.Errorf("%s, %s: %w", j.a.name, v.name, err)
					}
				}
				if rep >= 0 {
					walls[i] = append(walls[i], p.wall)
					cpus[i] = append(cpus[i], p.cpu)
				}
			}
		}
		var nativeMBs, nativeCPU float64
		mbs := make([]float64, len(vs))
		mbc := make([]float64, len(vs)) // MB per CPU second; <0: not measured
		med := make([]time.Duration, len(vs))
		for i, v := range vs {
			med[i] = median(walls[i])
			mbs[i] = float64(d.size) / med[i].Seconds() / 1e6
			mbc[i] = -1
			if c := median(cpus[i]); c > 0 {
				mbc[i] = float64(d.size) / c.Seconds() / 1e6
			}
			if v.native {
				nativeMBs, nativeCPU = mbs[i], mbc[i]
			}
		}
		for i, v := range vs {
			cpu, perCPU, vsn, vsc := "—", "—", "—", "—"
			if mbc[i] > 0 {
				cpu = fmt.Sprintf("%.2f s", median(cpus[i]).Seconds())
				perCPU = fmt.Sprintf("%.0f", mbc[i])
			}
			if !v.ref {
				vsn = ratio(mbs[i] / nativeMBs)
				if mbc[i] > 0 && nativeCPU > 0 {
					vsc = ratio(mbc[i] / nativeCPU)
				}
			}
			t.add(j.a.name, v.name, fmt.Sprintf("%.0f", mbs[i]), fmt.Sprintf("%.2f s", med[i].Seconds()), cpu, perCPU, vsn, vsc)
			if strings.HasPrefix(v.name, "insitu, stdin = stored object") {
				t.note("%s: insitu (stored object) / native %s = %s by wall time, %s by CPU time; goal >= 0.5x: %s",
					j.a.name, cfg.cc, ratio(mbs[i]/nativeMBs), ratio(mbc[i]/nativeCPU), verdict(mbs[i]/nativeMBs >= 0.5))
			}
		}
	}
	t.note("CPU: the worker's CPU for insitu rows (the pipe row's copying in the parent is not counted), the child's user+sys for native rows")
	t.note("outputs checked on every pass against the counts and digest computed when the data were generated")
	t.print(cfg.markdown)
	return nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
