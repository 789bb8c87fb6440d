package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/runs"
)

// TestPartitionedReaderLineCap: a line of exactly MaxLineBytes (newline
// included) passes; a 4 MiB line with no newline fails the reader with
// ErrLineTooLong after reading little more than the cap.
func TestPartitionedReaderLineCap(t *testing.T) {
	ctx := context.Background()
	eng := openEngine(t)
	mkBucket(t, eng, "b")
	atCap := "k\t" + strings.Repeat("v", MaxLineBytes-3) + "\n"
	bodies := []string{"a\t1\n" + atCap + "b\t2\n", strings.Repeat("x", 4<<20)}
	po := newPhaseOutputs(len(bodies), func(i int) runs.ObjectRef { return runs.ObjectRef{Bucket: "b", Key: fmt.Sprintf("o/%d", i)} })
	for i, body := range bodies {
		put(t, eng, "b", fmt.Sprintf("o/%d", i), body)
		po.finish(i, true)
	}

	u := &upstreamReader{ctx: ctx, engine: eng, po: po, idx: []int{0}, part: 0, parts: 1}
	data, err := io.ReadAll(u)
	if err != nil || string(data) != bodies[0] {
		t.Fatalf("lines up to the cap: %d bytes, %v", len(data), err)
	}

	u = &upstreamReader{ctx: ctx, engine: eng, po: po, idx: []int{0, 1}, part: 0, parts: 1}
	data, err = io.ReadAll(u)
	if !errors.Is(err, ErrLineTooLong) || !errors.Is(u.failure(), ErrLineTooLong) {
		t.Fatalf("4 MiB line: err %v failure %v", err, u.failure())
	}
	if !strings.Contains(err.Error(), "s3://b/o/1") || string(data) != bodies[0] {
		t.Fatalf("error %q, %d bytes before it", err, len(data))
	}
	if c := cap(u.line); c > 2*MaxLineBytes { // append growth, not 4 MiB
		t.Fatalf("line buffer grew to %d bytes", c)
	}
}
