package meta

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// crashDirEnv makes the test binary a writer that kills itself (see
// TestDeferredSurvivesKill).
const crashDirEnv = "INSITU_META_DEFERRED_CRASH_DIR"

const crashRecords = 2000

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		writeThenKill(dir)
	}
	os.Exit(m.Run())
}

// writeThenKill writes crashRecords deferred records and SIGKILLs its own
// process the moment the last write returns, before Pebble's own log
// writer or the journal's sync could run.
func writeThenKill(dir string) {
	l, err := OpenLocal(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := range crashRecords {
		if err := l.PutBatchDeferred(context.Background(), []Pair{{Key: recKey(i), Value: []byte("v")}}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

func recKey(i int) string { return fmt.Sprintf("runs/a/%06d", i) }

// A deferred write that returned is kept by a process killed right after
// it: every record is there when the store opens again.
func TestDeferredSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer did not die by SIGKILL: %v\n%s", err, out)
	}
	l, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	missing := 0
	for i := range crashRecords {
		if _, err := l.Get(ctx, recKey(i)); err != nil {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged deferred records lost by a kill", missing, crashRecords)
	}
	if fi, err := os.Stat(filepath.Join(dir, journalName)); err != nil || fi.Size() != 0 {
		t.Fatalf("journal not emptied after replay: %v %v", fi, err)
	}
}

// The journal is synced within DeferredSyncDelay of a deferred write, and
// only while writes come.
func TestDeferredGroupSync(t *testing.T) {
	l, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var syncs atomic.Int64
	l.journal.sync = func(fd int) error { syncs.Add(1); return nil }
	ctx := context.Background()
	for i := range 50 {
		if err := l.PutBatchDeferred(ctx, []Pair{{Key: recKey(i), Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(DeferredSyncDelay + 2*time.Second)
	for syncs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	n := syncs.Load()
	if n == 0 {
		t.Fatal("deferred writes never synced")
	}
	if n > 10 {
		t.Errorf("%d syncs for 50 writes in a burst: not grouped", n)
	}
	time.Sleep(3 * DeferredSyncDelay)
	if m := syncs.Load(); m > n+1 {
		t.Errorf("syncs went on without writes: %d then %d", n, m)
	}
}

// A synced write makes every deferred write before it durable in Pebble,
// so it empties the journal; a journal a crash left with a torn last
// entry gives back the entries before it.
func TestJournalResetAndTornTail(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := l.PutBatchDeferred(ctx, []Pair{{Key: "runs/a/1", Value: []byte("one")}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, journalName)
	if fi, _ := os.Stat(path); fi.Size() == 0 {
		t.Fatal("deferred write left the journal empty")
	}
	if err := l.Put(ctx, "accounts/x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatalf("journal holds %d bytes after a synced write", fi.Size())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// What a machine crash may leave: two whole entries (the second
	// overwriting the first's key) and a torn third.
	third := encodeEntry([]Pair{{Key: "runs/a/3", Value: []byte("three")}})
	raw := append(encodeEntry([]Pair{{Key: "runs/a/2", Value: []byte("old")}}),
		encodeEntry([]Pair{{Key: "runs/a/2", Value: []byte("two")}, {Key: "runs/a/4", Value: nil}})...)
	raw = append(raw, third[:len(third)-2]...)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err = OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for key, want := range map[string]string{"runs/a/1": "one", "runs/a/2": "two", "runs/a/4": "", "accounts/x": "x"} {
		if got, err := l.Get(ctx, key); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := l.Get(ctx, "runs/a/3"); err == nil {
		t.Error("a torn entry was replayed")
	}
}

func FuzzDecodeJournal(f *testing.F) {
	f.Add(encodeEntry([]Pair{{Key: "k", Value: []byte("v")}}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, used := decodeJournal(data)
		if used > len(data) {
			t.Fatalf("used %d of %d bytes", used, len(data))
		}
		for _, pairs := range entries {
			e := encodeEntry(pairs)
			again, n := decodeJournal(e)
			if len(again) != 1 || len(again[0]) != len(pairs) || n != len(e) {
				t.Fatalf("entry did not round-trip: %v", pairs)
			}
		}
	})
}
