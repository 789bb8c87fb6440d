package sandbox

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// Issue 8 item 13: running without cgroup isolation is logged at Warn,
// once, with the reason.
func TestNoCgroupWarnsOnceWithReason(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	root := t.TempDir() // no cgroup.controllers: not a cgroup v2 mount
	if cg := newCgroup(log, root, 2, 1<<30); cg != nil {
		t.Fatalf("got a cgroup at %s", cg.path)
	}
	out := buf.String()
	if strings.Count(out, "level=WARN") != 1 || strings.Count(out, "\n") != 1 {
		t.Fatalf("want one Warn line, got %q", out)
	}
	if !strings.Contains(out, "without cgroup isolation") || !strings.Contains(out, "no cgroup v2 at "+root) {
		t.Fatalf("warning lacks what and why: %q", out)
	}
}
