package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// poll calls ok every interval until it returns true or ctx ends.
func poll(ctx context.Context, interval time.Duration, ok func() bool) error {
	for {
		if ok() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

var pageClient = &http.Client{Timeout: 2 * time.Second}

// pageHolds reports whether http://ip/ answers 200 with want in the body.
func pageHolds(ip, want string) bool {
	return pageHoldsCtx(context.Background(), pageClient, ip, want)
}

// waitPage returns once http://ip/ answers with want in its page, or ctx
// ends. With overlap false it polls one request at a time (each up to 2
// s, 50 ms apart): a connection made while the guest has no address yet
// waits in slirp for its SYN retransmit, so this is late by up to the
// request timeout. With overlap true it starts a fresh connection every
// 50 ms, each allowed 10 s, without waiting for the earlier ones (at most
// 200 in flight), and returns at the first answer: the moment port 80
// first answers, within 50 ms. It cancels the requests still waiting and
// waits for them before returning.
func waitPage(ctx context.Context, ip, want string, overlap bool) error {
	if !overlap {
		return poll(ctx, 50*time.Millisecond, func() bool { return pageHolds(ip, want) })
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: the requests still waiting end at once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ok := make(chan struct{}, 1)
	slots := make(chan struct{}, 200)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case slots <- struct{}{}:
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				if pageHoldsCtx(ctx, c, ip, want) {
					select {
					case ok <- struct{}{}:
					default:
					}
				}
			}()
		default: // all slots busy: wait for the next tick
		}
		select {
		case <-ok:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func pageHoldsCtx(ctx context.Context, c *http.Client, ip, want string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ip+"/", nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.Contains(string(b), want)
}

// qemuPids returns the pids of the QEMU processes whose command line holds
// pattern.
func qemuPids(pattern string) []int {
	out, _ := exec.Command("pgrep", "-f", "qemu-system-x86_64.*"+pattern).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// rssOf is the resident memory (KiB) of the QEMU running pattern (an
// instance id or a directory), 0 when not found.
func rssOf(pattern string) int64 {
	for _, pid := range qemuPids(pattern) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kib, _ := strconv.ParseInt(f[1], 10, 64)
				return kib
			}
		}
	}
	return 0
}

// cpuOf is the CPU time (user plus system) the QEMU running pattern (an
// instance id or a directory) has used so far, 0 when not found: under
// TCG nearly all of it is the guest's boot, emulated.
func cpuOf(pattern string) time.Duration {
	for _, pid := range qemuPids(pattern) {
		if d, ok := procCPU(pid); ok {
			return d
		}
	}
	return 0
}

// procCPU reads utime and stime of pid from /proc/PID/stat (clock ticks of
// 1/100 s, as on every Linux this runs on).
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is the first, utime the 12th, stime the 13th.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * 10 * time.Millisecond, true
}

// killQEMUs kills every QEMU left running under dir (instances outlive
// insitu by design).
func killQEMUs(dir string) {
	for _, pid := range qemuPids(dir) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// memTotalKiB is the machine's memory from /proc/meminfo.
func memTotalKiB() int64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}
