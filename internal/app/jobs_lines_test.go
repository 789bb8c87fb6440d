package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/client"
)

// TestJobPartitionedLineTooLong: a map output that is one 4 MiB line with
// no newline fails the key-partitioned reduce with the line-limit error
// (the reader does not buffer it whole); normal lines still reduce.
func TestJobPartitionedLineTooLong(t *testing.T) {
	_, c, s3c := jobsNode(t)
	if _, err := c.PushApp(context.Background(), "upper", "1.0.0", exampleWasm(t, "upper"), nil, true); err != nil {
		t.Fatal(err)
	}
	putObjects(t, s3c, "lines", map[string]string{
		"long/0":   strings.Repeat("a", 4<<20),
		"normal/0": "b\t1\na\t2\n",
		"normal/1": "c\t3\n",
	})
	phases := []client.JobPhase{{Type: "map", App: "upper"}, {Type: "reduce", App: "sortu", Reducers: 2, Partition: true}}

	j := runJob(t, c, client.JobSpec{Inputs: []string{"s3://lines/long/"}, Phases: phases})
	if j.State != "failed" || !strings.Contains(j.Error, "longer than the 1 MiB limit") {
		t.Fatalf("job %s %q", j.State, j.Error)
	}

	j = runJob(t, c, client.JobSpec{Inputs: []string{"s3://lines/normal/"}, Phases: phases})
	if j.State != "succeeded" {
		t.Fatalf("normal lines: job %s %q", j.State, j.Error)
	}
	got := strings.Split(strings.TrimSpace(catOutputs(t, c, s3c, j.ID)), "\n")
	slices.Sort(got)
	if strings.Join(got, "|") != "A\t2|B\t1|C\t3" {
		t.Fatalf("normal lines reduced to %q", got)
	}
}
