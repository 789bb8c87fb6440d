package meta

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestLocal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	for _, k := range []string{"x/2", "x/1", "y/1", "x/3"} {
		if err := s.Put(ctx, k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	pairs, err := s.List(ctx, "x/")
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 3 || pairs[0].Key != "x/1" || pairs[2].Key != "x/3" || string(pairs[1].Value) != "vx/2" {
		t.Fatalf("List = %+v", pairs)
	}
	if err := s.CompareAndSwap(ctx, "x/1", nil, []byte("n")); !errors.Is(err, ErrConflict) {
		t.Fatalf("CAS on existing with nil expect: %v", err)
	}
	if err := s.CompareAndSwap(ctx, "x/1", []byte("vx/1"), []byte("n")); err != nil {
		t.Fatalf("CAS: %v", err)
	}
	if err := s.CompareAndSwap(ctx, "new", nil, []byte("1")); err != nil {
		t.Fatalf("CAS create: %v", err)
	}
	if err := s.CompareAndSwap(ctx, "new", []byte("1"), nil); err != nil {
		t.Fatalf("CAS delete: %v", err)
	}
	if _, err := s.Get(ctx, "new"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after CAS delete: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Durable across reopen.
	s, err = OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Get(ctx, "x/1"); err != nil || string(v) != "n" {
		t.Fatalf("after reopen: %q %v", v, err)
	}
}

func TestLocalCASRace(t *testing.T) {
	ctx := context.Background()
	s, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	wins := make(chan int, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.CompareAndSwap(ctx, "k", nil, []byte{byte(i)}) == nil {
				wins <- i
			}
		}()
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Fatalf("%d CAS winners, want 1", n)
	}
}

func TestLocalWatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch := s.Watch(ctx, "w/")
	_ = s.Put(ctx, "other", []byte("x"))
	_ = s.Put(ctx, "w/a", []byte("1"))
	_ = s.Delete(ctx, "w/a")
	want := []Event{{Key: "w/a", Value: []byte("1")}, {Key: "w/a"}}
	for _, w := range want {
		select {
		case ev := <-ch:
			if ev.Key != w.Key || string(ev.Value) != string(w.Value) || (w.Value == nil) != (ev.Value == nil) {
				t.Fatalf("event %+v, want %+v", ev, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
		}
	}
	cancel()
	for range ch {
	}
}
