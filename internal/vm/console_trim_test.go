package vm

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestTrimConsole: a console past the limit keeps only its tail, and a
// writer that appends (as QEMU does) goes on after it.
func TestTrimConsole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, consoleFile)
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(bytes.Repeat([]byte("x"), 1000)); err != nil {
		t.Fatal(err)
	}
	if trimmed, err := TrimConsole(dir, 2000, 100); err != nil || trimmed {
		t.Fatalf("under the limit: trimmed %v, %v", trimmed, err)
	}
	if _, err := w.Write(append(bytes.Repeat([]byte("y"), 1900), "TAIL"...)); err != nil {
		t.Fatal(err)
	}
	if trimmed, err := TrimConsole(dir, 2000, 100); err != nil || !trimmed {
		t.Fatalf("over the limit: trimmed %v, %v", trimmed, err)
	}
	if _, err := w.Write([]byte("NEXT")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := string(bytes.Repeat([]byte("y"), 96)) + "TAIL" + "NEXT"
	if string(got) != want {
		t.Fatalf("after the trim the console is %d bytes %q..., want %d bytes", len(got), got[:min(len(got), 20)], len(want))
	}
}
