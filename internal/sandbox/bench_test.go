package sandbox_test

import (
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// BenchmarkRunTrivial is the per-run cost of the worker path: a C guest
// that returns at once, end to end through Runtime.Run.
func BenchmarkRunTrivial(b *testing.B) {
	r, _ := newRuntime(b, 1)
	id, wasm := module(b, "trivial.wasm")
	spec := sandbox.Spec{ModuleID: id, Wasm: wasm}
	ctx := context.Background()
	for b.Loop() {
		res, err := r.Run(ctx, spec)
		if err != nil || res.Status != sandbox.StatusExited {
			b.Fatal(err, res)
		}
	}
}

// TestRunLatency reports p50/p99 of whole runs. It runs only with
// INSITU_SANDBOX_LATENCY=1 (it is a measurement, not a check).
func TestRunLatency(t *testing.T) {
	if os.Getenv("INSITU_SANDBOX_LATENCY") != "1" {
		t.Skip("set INSITU_SANDBOX_LATENCY=1")
	}
	r, _ := newRuntime(t, 1)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		spec sandbox.Spec
	}{
		{"trivial", func() sandbox.Spec { id, w := module(t, "trivial.wasm"); return sandbox.Spec{ModuleID: id, Wasm: w} }()},
		{"cat 1 KiB stdin→stdout", func() sandbox.Spec { return toolSpec(t, "cat") }()},
	} {
		const n = 5000
		lat := make([]time.Duration, 0, n)
		for i := range n + 200 {
			spec := tc.spec
			var sink strings.Builder
			spec.Stdout = &sink
			if tc.name != "trivial" {
				spec.Stdin.Reader = strings.NewReader(strings.Repeat("x", 1023) + "\n")
			}
			start := time.Now()
			res, err := r.Run(ctx, spec)
			d := time.Since(start)
			if err != nil || res.Status != sandbox.StatusExited {
				t.Fatal(err, res)
			}
			if i >= 200 {
				lat = append(lat, d)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("%s: p50 %v p90 %v p99 %v (n=%d)", tc.name, lat[n/2], lat[n*9/10], lat[n*99/100], n)
	}
}
