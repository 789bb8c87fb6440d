package meta

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestLocalPutBatch(t *testing.T) {
	s, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testPutBatch(t, s)
}

// testPutBatch is the PutBatch test for every Store: every pair is
// written and readable, watchers see each one, and a batch over
// MaxBatch is refused whole.
func testPutBatch(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The watcher reads as the batch commits (a full channel holds the
	// writer back: no event is lost).
	// Watch is called here, not in the goroutine: a watch made after the
	// batch would see none of it.
	events, watch := make(chan Event, MaxBatch), s.Watch(ctx, "batch/")
	go func() {
		for ev := range watch {
			events <- ev
		}
	}()
	pairs := make([]Pair, MaxBatch)
	for i := range pairs {
		k := fmt.Sprintf("batch/%03d", i)
		pairs[i] = Pair{Key: k, Value: []byte("v" + k)}
	}
	if err := s.PutBatch(ctx, pairs); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(ctx, "batch/")
	if err != nil || len(got) != MaxBatch {
		t.Fatalf("listed %d after a batch of %d: %v", len(got), MaxBatch, err)
	}
	for i, p := range got {
		if p.Key != pairs[i].Key || string(p.Value) != string(pairs[i].Value) {
			t.Fatalf("pair %d: %s=%q", i, p.Key, p.Value)
		}
	}
	for i := range pairs {
		select {
		case ev := <-events:
			if string(ev.Value) != "v"+ev.Key {
				t.Fatalf("event %d: %s=%q", i, ev.Key, ev.Value)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("saw %d of %d events", i, len(pairs))
		}
	}
	over := append(pairs, Pair{Key: "batch/over", Value: []byte("x")})
	if err := s.PutBatch(ctx, over); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("a batch of %d: %v", len(over), err)
	}
	if _, err := s.Get(ctx, "batch/over"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused batch wrote: %v", err)
	}
}
