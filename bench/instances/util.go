package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
	resp, err := pageClient.Get("http://" + ip + "/")
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
