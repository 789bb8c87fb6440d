package main

import (
	"strings"
	"testing"
	"time"
)

// TestConfigCheck pins the command line's validation: every bad value is
// refused with a message naming its flag, and -kill defaults to the last
// node.
func TestConfigCheck(t *testing.T) {
	good := func() *config {
		return &config{mode: "throughput", duration: time.Second, nodes: 4, replicas: 2, objects: 10, objSize: 1, kill: -1}
	}
	for _, tc := range []struct {
		name                  string
		edit                  func(*config)
		concs, sizes, targets string
		want                  string
	}{
		{"mode", func(c *config) { c.mode = "fast" }, "16", "4KiB", "r2", "-mode"},
		{"target", nil, "16", "4KiB", "r2,ceph", "-targets"},
		{"size", nil, "16", "4KB", "r2", "-sizes"},
		{"concurrency", nil, "0", "4KiB", "r2", "-concurrency"},
		{"replicas", func(c *config) { c.replicas = 5 }, "16", "4KiB", "r2", "-replicas"},
		{"kill", func(c *config) { c.kill = 4 }, "16", "4KiB", "r2", "-kill 4"},
		{"duration", func(c *config) { c.duration = 0 }, "16", "4KiB", "r2", "-duration"},
	} {
		c := good()
		if tc.edit != nil {
			tc.edit(c)
		}
		err := c.check(tc.concs, tc.sizes, tc.targets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	c := good()
	if err := c.check("1,16", "4KiB,16MiB", "one,r2,r3,minio"); err != nil {
		t.Fatal(err)
	}
	if c.kill != 3 || len(c.targets) != 4 || c.sizes[1] != 16<<20 {
		t.Fatalf("defaults: kill %d, targets %v, sizes %v", c.kill, c.targets, c.sizes)
	}
}

// TestIdleConfig pins the idle mode's flags: counts must be >= 0 and
// increasing, and the window positive.
func TestIdleConfig(t *testing.T) {
	c := &config{idleWindow: time.Second}
	if err := c.checkIdle("0,3000,30000"); err != nil || len(c.idleObjects) != 3 || c.idleObjects[2] != 30000 {
		t.Fatalf("0,3000,30000: %v %v", c.idleObjects, err)
	}
	for _, bad := range []string{"3000,0", "-1", "x", ""} {
		if err := c.checkIdle(bad); err == nil || !strings.Contains(err.Error(), "-idle-objects") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	c.idleWindow = 0
	if err := c.checkIdle("0"); err == nil {
		t.Error("a zero window was accepted")
	}
}

// TestParseStatCPU reads utime and stime past a command name holding
// spaces and parentheses.
func TestParseStatCPU(t *testing.T) {
	line := "4242 (in situ) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 1000 1000000 100\n"
	got, err := parseStatCPU(line)
	if err != nil || got != 3.0 {
		t.Fatalf("got %v, %v; want 3 s (250+50 ticks)", got, err)
	}
	if _, err := parseStatCPU("4242 (x) S 1 2"); err == nil {
		t.Fatal("a short line was accepted")
	}
}
