package runs

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// FuzzMarshalRecord checks that marshalRecord writes exactly what
// json.Marshal writes for any record, and fails where it fails.
func FuzzMarshalRecord(f *testing.F) {
	f.Add("0192c1d2-7e3a-7b1c-9d2e-3f4a5b6c7d8e", "alice", "alice/hello:1", "s3://b/k", "node0", "exited", "", int64(1732000000123456789), 0.0, 0.123, 0.0456, int64(1<<20), 3)
	f.Add("x\"y", "<a>&", "\u2028", "s3://b/ünïcode", "\x00\x1f", "timeout", "time limit\n", int64(-62135596800000000), 1e-7, 1e21, -0.0, int64(-1), 0)
	f.Add("", "", "", "", "", "", "bad \xff utf-8", int64(253402300800000000), math.MaxFloat64, 5e-324, 123456789.123, int64(0), 2)
	f.Fuzz(func(t *testing.T, id, account, app, output, node, status, errText string, startNanos int64, queued, wall, cpu float64, n int64, outputs int) {
		r := &Record{
			ID: id, Account: account, App: app, Digest: id + app, Node: node, Kind: "service",
			Start:    time.Unix(0, startNanos).In(time.FixedZone("z", int(n%100000))),
			QueuedMS: queued, WallMS: wall, CPUMS: cpu,
			Status: sandbox.Status(status), ExitCode: int(n), Error: errText,
			PeakMemory: n, StdinBytes: n * 3, StdoutBytes: -n, StderrBytes: n >> 3, InputBytes: n ^ 77, OutputBytes: n + 1,
		}
		for i := range outputs % 4 {
			r.Outputs = append(r.Outputs, output+string(rune('a'+i)))
		}
		want, wantErr := json.Marshal(r)
		got, err := marshalRecord(r)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, encoding/json says %v", err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("marshalRecord:\n%s\nencoding/json:\n%s", got, want)
		}
	})
}

// TestMarshalRecordIsCheap keeps the point of marshalRecord: one
// allocation for an ordinary record, where encoding/json makes several.
func TestMarshalRecordIsCheap(t *testing.T) {
	r := &Record{ID: NewID(), Account: "alice", App: "alice/hello:1", Digest: "sha256:00", Node: "node0", Kind: "service",
		Start: time.Now(), WallMS: 0.1, CPUMS: 0.05, Status: sandbox.StatusExited}
	if n := testing.AllocsPerRun(100, func() { _, _ = marshalRecord(r) }); n > 1 {
		t.Errorf("%v allocations per record, want 1", n)
	}
}
