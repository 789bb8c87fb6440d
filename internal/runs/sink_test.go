package runs_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Stdout bound to an object is stored whole whether it fits the sink's
// memory buffer (stored when the run ends, without a goroutine) or
// outgrows it (streamed into PutObject), only when the run exits 0, and
// no goroutine outlives the run.
func TestStdoutObjectSmallAndLarge(t *testing.T) {
	f := newFixture(t, 1, 0)
	ctx := context.Background()
	big := strings.Repeat("0123456789abcdef", 5000) // 80,000 bytes
	if _, err := f.engine.PutObject(ctx, "alice-data", "big.txt", strings.NewReader(big), int64(len(big)), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	goroutines := runtime.NumGoroutine()
	for _, c := range []struct{ in, body string }{{"in.txt", "abc"}, {"big.txt", big}} {
		out := runs.ObjectRef{Bucket: "alice-data", Key: c.in + ".out"}
		rec, err := f.svc.Run(ctx, runs.Request{Account: "alice", App: "tool", Args: []string{"cat"},
			StdinObject: &runs.ObjectRef{Bucket: "alice-data", Key: c.in}, StdoutObject: &out})
		if err != nil || !rec.OK() || len(rec.Outputs) != 1 {
			t.Fatalf("%s: %+v %v", c.in, rec, err)
		}
		_, rc, err := f.engine.GetObject(ctx, out.Bucket, out.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != c.body {
			t.Fatalf("%s: stored %d bytes, %v; want %d", c.in, len(got), err, len(c.body))
		}
	}
	failed := runs.ObjectRef{Bucket: "alice-data", Key: "failed.out"}
	rec, err := f.svc.Run(ctx, runs.Request{Account: "alice", App: "tool", Args: []string{"exit", "3"}, StdoutObject: &failed})
	if err != nil || rec.OK() || len(rec.Outputs) != 0 {
		t.Fatalf("failed run: %+v %v", rec, err)
	}
	if _, err := f.engine.HeadObject(ctx, failed.Bucket, failed.Key); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("a failed run's stdout object: %v, want none", err)
	}
	if n := runtime.NumGoroutine(); n > goroutines+2 {
		t.Fatalf("%d goroutines after the runs, %d before", n, goroutines)
	}
}
