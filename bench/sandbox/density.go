package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is one row of the density benchmark.
type loadResult struct {
	runs int
	wall time.Duration
	lat  latencies // per-run latency seen by the callers
}

// underLoad runs fn from callers goroutines: warm-up for warm, then
// counts the runs that end within the next dur. sample, when not nil, is
// called every 250 ms during the measured window.
func underLoad(ctx context.Context, callers int, warm, dur time.Duration, fn runner, sample func()) (loadResult, error) {
	var measuring, stop atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	lat := make([][]time.Duration, callers)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				err := fn(ctx, &out)
				d := time.Since(t0)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					stop.Store(true)
					return
				}
				if measuring.Load() && !stop.Load() {
					lat[c] = append(lat[c], d)
				}
			}
		}()
	}
	time.Sleep(warm)
	measuring.Store(true)
	t0 := time.Now()
	end := t0.Add(dur)
	for time.Now().Before(end) && !stop.Load() {
		time.Sleep(min(250*time.Millisecond, time.Until(end)))
		if sample != nil {
			sample()
		}
	}
	stop.Store(true)
	wall := time.Since(t0)
	wg.Wait()
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return loadResult{runs: len(all), wall: wall, lat: summarize(all, wall)}, nil
}

// memSamples accumulates RSS samples of the workers and of this process.
type memSamples struct {
	n     int
	procs int // worker processes seen (incl. the spare)
	// means over the samples, set by finish
	workers, workersAnon, parent, parentAnon int64
	maxWorkers                               int64
	guestPeak                                atomic.Int64
	sumW, sumWA, sumP, sumPA                 int64
}

func (m *memSamples) sample() {
	var tot, anon int64
	pids := childPIDs()
	for _, pid := range pids {
		if r, ok := procRSS(pid); ok {
			tot += r.total
			anon += r.anon
		}
	}
	self, _ := procRSS(os.Getpid())
	m.n++
	m.procs = max(m.procs, len(pids))
	m.sumW += tot
	m.sumWA += anon
	m.sumP += self.total
	m.sumPA += self.anon
	m.maxWorkers = max(m.maxWorkers, tot)
}

func (m *memSamples) finish() {
	if m.n == 0 {
		return
	}
	n := int64(m.n)
	m.workers, m.workersAnon, m.parent, m.parentAnon = m.sumW/n, m.sumWA/n, m.sumP/n, m.sumPA/n
}

func (e *benchEnv) density(ctx context.Context) error {
	cfg := e.cfg
	input, want := smallInput(cfg.inputSize)
	fmt.Printf("\ndensity: wc over %d bytes, %d concurrent callers, %d workers, %v warm-up + %v measured per row ...\n",
		len(input), cfg.callers, cfg.workers, cfg.warmupDur, cfg.duration)

	r, err := e.newRuntime(ctx, cfg.workers)
	if err != nil {
		return err
	}
	var mem memSamples
	withPeak := func(ctx context.Context, out *bytes.Buffer) error {
		// insituWC, plus the guest's peak linear memory.
		out.Reset()
		s := e.wc.spec()
		s.Stdin.Reader = bytes.NewReader(input)
		s.Stdout = out
		res, err := r.Run(ctx, s)
		if err := checkRun(res, err, out, want); err != nil {
			return err
		}
		if res.PeakMemory > mem.guestPeak.Load() {
			mem.guestPeak.Store(res.PeakMemory)
		}
		return nil
	}
	ins, err := underLoad(ctx, cfg.callers, cfg.warmupDur, cfg.duration, withPeak, mem.sample)
	e.closeRuntime(r)
	if err != nil {
		return fmt.Errorf("insitu: %w", err)
	}
	mem.finish()

	nat, err := underLoad(ctx, cfg.callers, cfg.warmupDur, cfg.duration, e.nativeWC(input, want), nil)
	if err != nil {
		return fmt.Errorf("native: %w", err)
	}
	nativeRSS, err := e.nativeLiveRSS(20, input)
	if err != nil {
		return fmt.Errorf("native memory: %w", err)
	}

	t := &table{
		title: fmt.Sprintf("Density: wc over %d B, %d callers, %d CPUs busy (Workers=%d)",
			len(input), cfg.callers, runtime.NumCPU(), cfg.workers),
		header: []string{"path", "runs/s", "p50", "p99", "memory per concurrent run"},
	}
	perRun := mem.workers / int64(cfg.workers)
	t.add("insitu (worker path)", fmt.Sprintf("%.0f", ins.lat.perSecond), us(ins.lat.p50), us(ins.lat.p99),
		fmt.Sprintf("%s RSS (%s anon) per worker", mib(perRun), mib(mem.workersAnon/int64(cfg.workers))))
	t.add("native fork+exec (gcc build)", fmt.Sprintf("%.0f", nat.lat.perSecond), us(nat.lat.p50), us(nat.lat.p99),
		fmt.Sprintf("%s RSS (%s anon) per process", mib(nativeRSS.total), mib(nativeRSS.anon)))
	t.note("insitu / fork+exec runs/s = %s", ratio(ins.lat.perSecond/nat.lat.perSecond))
	t.note("insitu memory: VmRSS of all %d worker processes (the %d workers and the warm spare) summed, mean of %d samples = %s (max %s), divided by Workers=%d; RssAnon %s of it",
		mem.procs, cfg.workers, mem.n, mib(mem.workers), mib(mem.maxWorkers), cfg.workers, mib(mem.workersAnon))
	t.note("guest linear memory at peak: %s per run; parent (this benchmark process, which is also the caller) VmRSS %s, RssAnon %s",
		mib(mem.guestPeak.Load()), mib(mem.parent), mib(mem.parentAnon))
	t.note("native memory: VmRSS of a live wc process blocked reading stdin, mean of 20 (it counts shared libc pages, as a worker's VmRSS counts the Go binary's)")
	t.print(cfg.markdown)
	return nil
}

// nativeLiveRSS starts the native wc n times with stdin from a pipe held
// open, reads the RSS of the live process once it has exec'd and blocks
// in read(2), then feeds it input and lets it exit. (ru_maxrss would not
// do: Go starts children with vfork, so a child's high-water mark
// includes this process's memory before exec.)
func (e *benchEnv) nativeLiveRSS(n int, input []byte) (rss, error) {
	var sum rss
	for range n {
		pr, pw, err := os.Pipe()
		if err != nil {
			return rss{}, err
		}
		cmd := exec.Command(e.wc.native)
		cmd.Stdin = pr
		if err := cmd.Start(); err != nil {
			pr.Close()
			pw.Close()
			return rss{}, err
		}
		pr.Close()
		pid := cmd.Process.Pid
		var r rss
		var ok bool
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			if exe == e.wc.native && procState(pid) == "S" {
				r, ok = procRSS(pid)
				break
			}
		}
		pw.Write(input)
		pw.Close()
		if err := cmd.Wait(); err != nil {
			return rss{}, err
		}
		if !ok {
			return rss{}, fmt.Errorf("native wc %d did not block on stdin", pid)
		}
		sum.total += r.total
		sum.anon += r.anon
	}
	return rss{sum.total / int64(n), sum.anon / int64(n)}, nil
}
