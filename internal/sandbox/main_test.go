package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// TestMain lets the test binary serve as its own sandbox worker.
func TestMain(m *testing.M) {
	if sandbox.IsWorkerProcess() {
		os.Exit(sandbox.WorkerMainWith(echoDirect))
	}
	os.Exit(m.Run())
}

func readWasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newRuntime starts a Runtime whose workers are this test binary, and
// checks at cleanup that Close leaves no child process behind.
func newRuntime(t testing.TB, workers int) (*sandbox.Runtime, string) {
	t.Helper()
	tmp := t.TempDir()
	r, err := sandbox.New(context.Background(), sandbox.Config{
		Workers: workers, WorkerCommand: []string{os.Args[0]}, TempDir: tmp,
		CacheDir: filepath.Join(tmp, "cache"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
		r.Close() // idempotent
		if kids := childProcesses(t); len(kids) > 0 {
			t.Errorf("child processes left after Close: %v", kids)
		}
	})
	return r, tmp
}

// childProcesses lists the processes whose parent is us (zombies too),
// waiting up to 3 s for them to go.
func childProcesses(t testing.TB) []int {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		kids := listChildren()
		if len(kids) == 0 || time.Now().After(deadline) {
			return kids
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listChildren lists the processes whose parent is us, zombies (exited
// but not reaped) included.
func listChildren() []int {
	var kids []int
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == me {
			kids = append(kids, pid)
		}
	}
	return kids
}

// module is a Spec filler for a testdata module.
func module(t testing.TB, name string) (string, func() ([]byte, error)) {
	b := readWasm(t, name)
	return name, func() ([]byte, error) { return b, nil }
}
