package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// writeObject writes data as a blockfile object data file and opens it.
func writeObject(t testing.TB, data []byte) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "obj")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := blockfile.NewWriter(f, nil)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if f, err = os.Open(p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func TestInputsAndStdinFromObjects(t *testing.T) {
	r, _ := newRuntime(t, 1)
	data := pattern(200_000) // several 64 KiB blocks
	obj := writeObject(t, data)

	spec := toolSpec(t, "cat")
	spec.Stdin = sandbox.Stdin{File: obj, Size: int64(len(data))}
	res, out, _ := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusExited, "")
	if out != string(data) || res.StdinBytes != int64(len(data)) {
		t.Fatalf("stdin from object: %d bytes", len(out))
	}

	spec = toolSpec(t, "catfile", "/in/logs/obj.txt")
	spec.Inputs = []sandbox.Input{
		{Path: "logs/obj.txt", File: obj, Size: int64(len(data))},
		{Path: "/in/small.txt", Bytes: []byte("small")},
	}
	res, out, _ = mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusExited, "")
	if out != string(data) || res.InputBytes != int64(len(data)) {
		t.Fatalf("/in object: %d bytes, input bytes %d", len(out), res.InputBytes)
	}
	spec.Args = []string{"tool", "ls", "/in"}
	res, out, _ = mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusExited, "")
	want := "/in/logs 0 dir\n  /in/logs/obj.txt 200000\n/in/small.txt 5\n"
	if out != want {
		t.Fatalf("ls /in: %q, want %q", out, want)
	}
	// Bad input specs are refused before running.
	for _, p := range []string{"../etc/passwd", "/", "", "a/../../b"} {
		spec.Inputs = []sandbox.Input{{Path: p, Bytes: []byte("x")}}
		if _, err := r.Run(context.Background(), spec); err == nil {
			t.Errorf("input path %q accepted", p)
		}
	}
}

func TestCorruptInputFailsRun(t *testing.T) {
	r, _ := newRuntime(t, 1)
	data := pattern(3*65536 + 100)
	obj := writeObject(t, data)
	// Flip a byte in block 1 on disk.
	rw, err := os.OpenFile(obj.Name(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	rw.WriteAt([]byte{'#'}, 65536+10)
	rw.Close()

	spec := toolSpec(t, "catfile", "/in/data")
	spec.Inputs = []sandbox.Input{{Path: "data", File: obj, Size: int64(len(data))}}
	res, out, _ := mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusError, "corrupt")
	if strings.Contains(out, "#") || len(out) > 65536 {
		t.Fatalf("served %d bytes including damaged ones", len(out))
	}
	if !bytes.Equal([]byte(out), data[:len(out)]) {
		t.Fatal("served wrong bytes")
	}
	spec = toolSpec(t, "cat")
	spec.Stdin = sandbox.Stdin{File: obj, Size: int64(len(data))}
	res, out, _ = mustRun(t, r, spec)
	wantStatus(t, res, sandbox.StatusError, "corrupt")
	if !bytes.Equal([]byte(out), data[:len(out)]) || len(out) > 65536 {
		t.Fatal("stdin served damaged bytes")
	}
	healthy(t, r)
}

func TestOutAndTmp(t *testing.T) {
	r, tmp := newRuntime(t, 1)
	res, _, _ := mustRun(t, r, toolSpec(t, "outs"))
	wantStatus(t, res, sandbox.StatusExited, "")
	if len(res.Outputs) != 2 || res.Outputs[0].Path != "a.txt" || res.Outputs[0].Size != 5 ||
		res.Outputs[1].Path != "sub/b.txt" || res.Outputs[1].Size != 10000 || res.OutputBytes != 10005 {
		t.Fatalf("outputs %+v (%d bytes)", res.Outputs, res.OutputBytes)
	}
	b, err := os.ReadFile(res.Outputs[0].HostPath)
	if err != nil || string(b) != "alpha" {
		t.Fatalf("output a.txt: %q %v", b, err)
	}
	if !strings.HasPrefix(res.Outputs[0].HostPath, tmp) {
		t.Fatalf("host path %s outside TempDir", res.Outputs[0].HostPath)
	}
	res.Cleanup()
	res.Cleanup()
	if _, err := os.Stat(res.Outputs[0].HostPath); err == nil {
		t.Fatal("Cleanup left the output")
	}
	// A run that fails leaves no outputs.
	res, _, _ = mustRun(t, r, toolSpec(t, "write", "/out/x", "data"))
	wantStatus(t, res, sandbox.StatusExited, "")
	if len(res.Outputs) != 1 {
		t.Fatalf("outputs %+v", res.Outputs)
	}

	for i, word := range []string{"first", "second"} {
		res, out, _ := mustRun(t, r, toolSpec(t, "tmp", word))
		wantStatus(t, res, sandbox.StatusExited, "")
		if out != "read back: "+word+"\n" {
			t.Fatalf("run %d: /tmp not empty or not working: %q", i, out)
		}
	}
}

func TestDeterministicReplay(t *testing.T) {
	r, _ := newRuntime(t, 2)
	run := func(det bool, seed int64) string {
		spec := toolSpec(t, "time")
		spec.Deterministic, spec.Seed = det, seed
		res, out, _ := mustRun(t, r, spec)
		wantStatus(t, res, sandbox.StatusExited, "")
		return out
	}
	a, b := run(true, 42), run(true, 42)
	if a != b {
		t.Fatalf("deterministic runs differ:\n%s%s", a, b)
	}
	if !strings.HasPrefix(a, "time 946684800.") {
		t.Fatalf("clock not at 2000-01-01: %s", a)
	}
	if c := run(true, 43); c == a {
		t.Fatalf("seed does not matter: %s", c)
	}
	// Without Deterministic, the entropy itself differs from run to run
	// (not only the clock): a service minting tokens must not repeat them.
	entropy := func(out string) string {
		_, after, _ := strings.Cut(out, " rand ")
		hex, _, _ := strings.Cut(after, " ")
		return hex
	}
	if x, y := run(false, 0), run(false, 0); entropy(x) == "" || entropy(x) == entropy(y) {
		t.Fatalf("real runs share their randomness: %q %q", x, y)
	}
}

func TestConcurrentRuns(t *testing.T) {
	r, _ := newRuntime(t, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("run %d\n", i)
			spec := toolSpec(t, "cat")
			spec.Stdin.Reader = strings.NewReader(want)
			var out bytes.Buffer
			spec.Stdout = &out
			res, err := r.Run(context.Background(), spec)
			if err != nil || res.Status != sandbox.StatusExited || out.String() != want {
				errs <- fmt.Errorf("run %d: %v %+v %q", i, err, res, out.String())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCancel(t *testing.T) {
	r, _ := newRuntime(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	spec := toolSpec(t, "loop")
	spec.Limits.Timeout = time.Hour // only the cancel can end it
	res, err := r.Run(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, sandbox.StatusKilled, "cancel")
	// Cancelled while waiting for a worker.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan *sandbox.Result)
	go func() {
		res, _ := r.Run(context.Background(), func() sandbox.Spec {
			s := toolSpec(t, "sleep")
			s.Limits.Timeout = 5 * time.Second
			return s
		}())
		done <- res
	}()
	// Give the sleeper time to take the only worker, even on a loaded
	// machine; it holds it for 5 s.
	time.Sleep(time.Second)
	time.AfterFunc(100*time.Millisecond, cancel2)
	res, err = r.Run(ctx2, toolSpec(t, "exit", "0"))
	if err != nil || res.Status != sandbox.StatusKilled {
		t.Fatalf("waiting run: %v %+v", err, res)
	}
	if res := <-done; res.Status != sandbox.StatusTimeout {
		t.Fatalf("sleeper: %+v", res)
	}
	healthy(t, r)
	r.Close()
	if _, err := r.Run(context.Background(), toolSpec(t, "exit", "0")); err == nil {
		t.Fatal("Run after Close succeeded")
	}
}
