package sandbox

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// cgroup is the cgroup v2 the workers run in, when the machine has cgroup
// v2 and lets this process create a child group with the memory and cpu
// controllers. Otherwise it is a no-op, logged once per Runtime at Warn
// with the reason: the workers then run without memory.max and cpu.max.
type cgroup struct {
	path string
	fd   int // open directory fd, for clone(CLONE_INTO_CGROUP)
}

const cgroupRoot = "/sys/fs/cgroup"

// newCgroup makes the workers' cgroup below root (cgroupRoot but in
// tests), or logs why it cannot and returns nil.
func newCgroup(log *slog.Logger, root string, workers int, memMax int64) *cgroup {
	cg, err := makeCgroup(root, workers, memMax)
	if err != nil {
		log.Warn("sandbox: workers run without cgroup isolation (no memory.max or cpu.max for the worker processes)", "why", err.Error())
		return nil
	}
	log.Debug("sandbox: workers in cgroup", "path", cg.path)
	return cg
}

func makeCgroup(root string, workers int, memMax int64) (*cgroup, error) {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		return nil, fmt.Errorf("no cgroup v2 at %s", root)
	}
	self, err := ownCgroup()
	if err != nil {
		return nil, err
	}
	parent := filepath.Join(root, self)
	ctl, err := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(ctl), "memory") || !strings.Contains(string(ctl), "cpu") {
		// Enabling controllers on our own group fails when it holds
		// processes (the no-internal-processes rule); try anyway.
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+memory +cpu"), 0); err != nil {
			return nil, fmt.Errorf("enable memory and cpu controllers in %s: %w", parent, err)
		}
	}
	dir := filepath.Join(parent, "insitu-sandbox-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	cg := &cgroup{path: dir, fd: -1}
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(strconv.FormatInt(memMax, 10)), 0); err != nil {
		cg.remove()
		return nil, err
	}
	os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0)
	quota := fmt.Sprintf("%d 100000", workers*100000)
	if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(quota), 0); err != nil {
		cg.remove()
		return nil, err
	}
	fd, err := syscall.Open(dir, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		cg.remove()
		return nil, err
	}
	cg.fd = fd
	return cg, nil
}

func ownCgroup() (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return strings.TrimPrefix(p, "/"), nil
		}
	}
	return "", fmt.Errorf("no cgroup v2 entry in /proc/self/cgroup")
}

// apply makes a worker start inside the cgroup.
func (cg *cgroup) apply(attr *syscall.SysProcAttr) {
	if cg == nil || cg.fd < 0 {
		return
	}
	attr.UseCgroupFD = true
	attr.CgroupFD = cg.fd
}

// remove deletes the cgroup (it must be empty: call after the workers
// are reaped).
func (cg *cgroup) remove() {
	if cg == nil {
		return
	}
	if cg.fd >= 0 {
		syscall.Close(cg.fd)
		cg.fd = -1
	}
	os.Remove(cg.path)
}
