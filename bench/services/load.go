package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// loadResult is one measured run of the load generator.
type loadResult struct {
	requests int64
	elapsed  time.Duration
	rps      float64
	p50, p99 time.Duration
	errors   int64 // socket errors, non-2xx responses, wrong bodies (go)
}

func generate(ctx context.Context, cfg *config, t target, d time.Duration) (loadResult, error) {
	if cfg.load == "wrk" {
		return runWrk(ctx, cfg, t, d)
	}
	return runGo(ctx, cfg, t, d)
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal    = regexp.MustCompile(`(\d+) requests in ([0-9.]+\w+),`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErrs = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk runs wrk -tT -cN -dD --latency and parses its report.
func runWrk(ctx context.Context, cfg *config, t target, d time.Duration) (loadResult, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	args := []string{"-t" + strconv.Itoa(cfg.threads), "-c" + strconv.Itoa(cfg.conns),
		"-d" + strconv.Itoa(secs) + "s", "--timeout", "10s", "--latency"}
	if t.host != "" {
		args = append(args, "-H", "Host: "+t.host)
	}
	cmd := exec.CommandContext(ctx, "wrk", append(args, t.url)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	s := string(out)
	var r loadResult
	m := wrkRPS.FindStringSubmatch(s)
	if m == nil {
		return r, fmt.Errorf("wrk: no Requests/sec in\n%s", s)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkTotal.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
		r.elapsed, _ = time.ParseDuration(m[2])
	}
	for _, m := range wrkPct.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		dur := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = dur
		} else {
			r.p99 = dur
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.errors += n
	}
	if m := wrkSockErrs.FindStringSubmatch(s); m != nil {
		for _, x := range m[1:] {
			n, _ := strconv.ParseInt(x, 10, 64)
			r.errors += n
		}
	}
	return r, nil
}

// runGo is the fallback load client: cfg.conns goroutines, each with its
// own keep-alive connection, requesting url back to back for d.
func runGo(ctx context.Context, cfg *config, t target, d time.Duration) (loadResult, error) {
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for range cfg.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			mine := make([]time.Duration, 0, 1<<14)
			var bad int64
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				req, _ := http.NewRequest(http.MethodGet, t.url, nil)
				if t.host != "" {
					req.Host = t.host
				}
				resp, err := hc.Do(req)
				if err != nil {
					bad++
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || string(b) != "hello\n" {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := loadResult{requests: int64(len(lats)), elapsed: elapsed, errors: errs}
	if len(lats) == 0 {
		return r, fmt.Errorf("no successful requests (%d errors)", errs)
	}
	slices.Sort(lats)
	r.rps = float64(len(lats)) / elapsed.Seconds()
	r.p50 = lats[len(lats)/2]
	r.p99 = lats[min(len(lats)-1, len(lats)*99/100)]
	return r, nil
}

// fmtDur prints a latency in ms with 3 decimals.
func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}
