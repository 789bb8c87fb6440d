package jobs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// fnv1a is FNV-1a 64 written out, so that a change of partitionOf's hash
// (which would silently move keys between reducers of a job format that
// others may reproduce) fails this test.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func TestPartitionOfKeyRules(t *testing.T) {
	for _, parts := range []int{1, 2, 3, 4, 7, 128} {
		for _, c := range []struct{ line, key string }{
			{"alpha\t1\n", "alpha"},
			{"alpha\t2\n", "alpha"},         // same key, another value
			{"alpha\t2\t3\n", "alpha"},      // the key ends at the first TAB
			{"alpha\r\n", "alpha"},          // no TAB: the whole line, CR dropped
			{"alpha\n", "alpha"},            //
			{"\t5\n", ""},                   // empty key
			{"\n", ""},                      // empty line
			{"two words\tx\n", "two words"}, // spaces belong to the key
			{"ünïcödé\t1\n", "ünïcödé"},
		} {
			got := partitionOf([]byte(c.line), parts)
			want := int(fnv1a(c.key) % uint64(parts))
			if got != want {
				t.Errorf("partitionOf(%q, %d) = %d, want %d (key %q)", c.line, parts, got, want, c.key)
			}
			if got < 0 || got >= parts {
				t.Errorf("partitionOf(%q, %d) = %d out of range", c.line, parts, got)
			}
		}
	}
}

func TestPartitionOfStableAndSpread(t *testing.T) {
	const parts = 4
	seen := make([]int, parts)
	for i := range 4000 {
		key := fmt.Sprintf("key-%d", i)
		p := partitionOf([]byte(key+"\t1\n"), parts)
		for _, line := range []string{key + "\t99\n", key + "\n", key + "\tx\ty\n"} {
			if q := partitionOf([]byte(line), parts); q != p {
				t.Fatalf("key %q went to %d and, as %q, to %d", key, p, line, q)
			}
		}
		seen[p]++
	}
	for r, n := range seen {
		// 1000 expected each; FNV-1a is not that lopsided.
		if n < 800 || n > 1200 {
			t.Errorf("reducer %d got %d of 4000 keys: %v", r, n, seen)
		}
	}
}

// TestPartitionedReadersSplitExactly feeds real upstream outputs (in a
// real local store) to one upstreamReader per reducer: every line reaches
// exactly one reducer, all lines of a key reach the same one, and each
// reducer sees its lines in upstream order.
func TestPartitionedReadersSplitExactly(t *testing.T) {
	ctx := context.Background()
	eng := openEngine(t)
	mkBucket(t, eng, "b")
	const ups, parts = 5, 3
	var all []string
	po := newPhaseOutputs(ups, func(i int) runs.ObjectRef { return runs.ObjectRef{Bucket: "b", Key: fmt.Sprintf("up/%d", i)} })
	for i := range ups {
		var b strings.Builder
		for k := range 40 {
			line := fmt.Sprintf("w%d\t%d", (i*7+k)%23, i*100+k)
			all = append(all, line)
			b.WriteString(line + "\n")
		}
		body := b.String()
		if i == ups-1 {
			body = strings.TrimSuffix(body, "\n") // a last line with no end
		}
		put(t, eng, "b", fmt.Sprintf("up/%d", i), body)
		po.finish(i, true)
	}
	idx := []int{0, 1, 2, 3, 4}
	got := map[string]int{}
	keyAt := map[string]int{}
	for r := range parts {
		u := &upstreamReader{ctx: ctx, engine: eng, po: po, idx: idx, part: r, parts: parts}
		data, err := io.ReadAll(u)
		if err != nil || u.failure() != nil {
			t.Fatalf("reducer %d: %v %v", r, err, u.failure())
		}
		var mine []string
		for line := range strings.Lines(string(data)) {
			line = strings.TrimSuffix(line, "\n")
			got[line]++
			mine = append(mine, line)
			k, _, _ := strings.Cut(line, "\t")
			if prev, ok := keyAt[k]; ok && prev != r {
				t.Errorf("key %q at reducers %d and %d", k, prev, r)
			}
			keyAt[k] = r
		}
		// Upstream order is kept: values were written increasing.
		if !sort.SliceIsSorted(mine, func(a, b int) bool { return seq(mine[a]) < seq(mine[b]) }) {
			t.Errorf("reducer %d lines out of upstream order: %q", r, mine)
		}
	}
	if len(got) != len(all) {
		t.Fatalf("%d distinct lines read, %d written", len(got), len(all))
	}
	for _, l := range all {
		if got[l] != 1 {
			t.Errorf("line %q read %d times", l, got[l])
		}
	}
}

// TestUpstreamReaderWhole reads whole outputs, streaming: it blocks until
// the next output is final, and a failed upstream ends it with
// errUpstreamFailed.
func TestUpstreamReaderWhole(t *testing.T) {
	ctx := context.Background()
	eng := openEngine(t)
	mkBucket(t, eng, "b")
	po := newPhaseOutputs(3, func(i int) runs.ObjectRef { return runs.ObjectRef{Bucket: "b", Key: fmt.Sprintf("o/%d", i)} })
	for i := range 3 {
		put(t, eng, "b", fmt.Sprintf("o/%d", i), fmt.Sprintf("out%d\n", i))
	}
	u := &upstreamReader{ctx: ctx, engine: eng, po: po, idx: []int{0, 1, 2}}
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(u)
		done <- string(b)
	}()
	po.finish(1, true) // out of order: the reader still waits for 0
	select {
	case s := <-done:
		t.Fatalf("read ended before output 0 was final: %q", s)
	default:
	}
	po.finish(0, true)
	po.finish(2, true)
	if s := <-done; s != "out0\nout1\nout2\n" {
		t.Fatalf("read %q", s)
	}

	po2 := newPhaseOutputs(2, func(i int) runs.ObjectRef { return runs.ObjectRef{Bucket: "b", Key: fmt.Sprintf("o/%d", i)} })
	po2.finish(0, true)
	po2.finish(1, false)
	u2 := &upstreamReader{ctx: ctx, engine: eng, po: po2, idx: []int{0, 1}}
	b, err := io.ReadAll(u2)
	if string(b) != "out0\n" || err != errUpstreamFailed || u2.failure() != errUpstreamFailed {
		t.Fatalf("after a failed upstream: %q %v %v", b, err, u2.failure())
	}
}

func seq(line string) int {
	_, v, _ := strings.Cut(line, "\t")
	var n int
	fmt.Sscan(v, &n)
	return n // upstream i*100 + line k: increasing in upstream order
}

func put(t *testing.T, eng store.Engine, bucket, key, body string) {
	t.Helper()
	if _, err := eng.PutObject(context.Background(), bucket, key, bytes.NewReader([]byte(body)), int64(len(body)), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}
