package local

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

const (
	crashDirEnv = "INSITU_CRASH_CHILD_DIR"
	crashTagEnv = "INSITU_CRASH_CHILD_TAG"
)

// TestCrashChild is the child half of TestCrash: it writes objects until it
// is killed, printing "ACK <key> <md5>" after each put returns,
// "DELETING <key>" before each delete and "DEL <key>" after it returns. It does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child of TestCrash only")
	}
	tag := os.Getenv(crashTagEnv)
	ctx := context.Background()
	e, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "crash", Owner: "o"}); err != nil && !errors.Is(err, store.ErrBucketOwnedByYou) {
		fmt.Fprintln(os.Stderr, "create bucket:", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		// One write(2) per line: a line is in the pipe before the next
		// operation starts, and the kill never splits it.
		os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
	}
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		os.Exit(3)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			for i := 0; ; i++ {
				var size int
				switch p := rng.IntN(100); {
				case p < 60:
					size = rng.IntN(10_000)
				case p < 95:
					size = 10_000 + rng.IntN(300_000)
				default:
					size = 300_000 + rng.IntN(2_000_000)
				}
				data := make([]byte, size)
				for j := range data {
					data[j] = byte(rng.Uint32())
				}
				sum := md5.Sum(data)
				key := fmt.Sprintf("%s/w%d/%06d", tag, w, i)
				switch p := rng.IntN(100); {
				case p < 20: // contended keys, overwritten by everyone
					key = fmt.Sprintf("shared/%d", rng.IntN(3))
				case p < 30: // a one-part multipart upload
					up, err := e.CreateMultipartUpload(ctx, "crash", key, store.PutOptions{})
					if err != nil {
						fail("create upload: %v", err)
					}
					pi, err := e.UploadPart(ctx, "crash", key, up.UploadID, 1, bytes.NewReader(data), int64(size), store.PutOptions{})
					if err != nil {
						fail("upload part: %v", err)
					}
					if _, err := e.CompleteMultipartUpload(ctx, "crash", key, up.UploadID, []store.CompletePart{{Number: 1, ETag: pi.ETag}}); err != nil {
						fail("complete: %v", err)
					}
					say("ACK %s %x", key, sum)
					continue
				}
				if _, err := e.PutObject(ctx, "crash", key, bytes.NewReader(data), int64(size), store.PutOptions{}); err != nil {
					fail("put %s: %v", key, err)
				}
				say("ACK %s %x", key, sum)
				if i%7 == 6 && !strings.HasPrefix(key, "shared/") {
					say("DELETING %s", key) // from here the key may be gone
					if err := e.DeleteObject(ctx, "crash", key); err != nil {
						fail("delete %s: %v", key, err)
					}
					say("DEL %s", key)
				}
			}
		}()
	}
	wg.Wait()
}

// TestCrash SIGKILLs a child that is writing objects at a random moment,
// reopens the store, and checks that every acknowledged write survived
// whole, every listed object is readable and whole, acknowledged deletes
// stayed deleted, tmp/ is empty and, after the sweep, no data file is
// unreferenced. It repeats on the same directory.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	acked := map[string]string{} // key -> md5 of the last acknowledged put
	deleted := map[string]bool{} // acknowledged deletes
	maybeDeleted := map[string]bool{}
	rounds := 4
	if raceEnabled {
		rounds = 3
	}
	for round := 0; round < rounds; round++ {
		want := 10 + rand.IntN(120)
		lines, stderr := runCrashChild(t, dir, fmt.Sprint("r", round), want)
		n := 0
		for _, l := range lines {
			f := strings.Fields(l)
			switch {
			case len(f) == 3 && f[0] == "ACK":
				acked[f[1]] = f[2]
				delete(deleted, f[1])
				n++
			case len(f) == 2 && f[0] == "DELETING":
				maybeDeleted[f[1]] = true
			case len(f) == 2 && f[0] == "DEL":
				delete(acked, f[1])
				delete(maybeDeleted, f[1])
				deleted[f[1]] = true
			}
		}
		if n < want {
			t.Fatalf("round %d: child acknowledged %d writes before dying, want %d; stderr:\n%s", round, n, want, stderr)
		}
		t.Logf("round %d: killed after %d acks", round, n)
		checkAfterCrash(t, dir, acked, maybeDeleted, deleted)
	}
}

// runCrashChild starts the child, kills it with SIGKILL soon after it has
// acknowledged want writes, and returns every line it printed.
func runCrashChild(t *testing.T, dir, tag string, want int) ([]string, string) {
	t.Helper()
	return runChild(t, "TestCrashChild", dir, tag, want)
}

// runChild is runCrashChild for the child test named name.
func runChild(t *testing.T, name, dir, tag string, want int) ([]string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashTagEnv+"="+tag)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	acks := 0
	killed := false
	timeout := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timeout.Stop()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "ACK ") {
			acks++
		}
		if acks >= want && !killed {
			killed = true
			// Let it run on a little, into the middle of other writes.
			delay := time.Duration(rand.IntN(30)) * time.Millisecond
			time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before the kill (%v); stderr:\n%s", err, stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL; stderr:\n%s", err, stderr.String())
	}
	return lines, stderr.String()
}

func checkAfterCrash(t *testing.T, dir string, acked map[string]string, maybeDeleted, deleted map[string]bool) {
	t.Helper()
	ctx := context.Background()
	e, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer e.Close()
	if ents, err := os.ReadDir(filepath.Join(dir, "tmp")); err != nil || len(ents) != 0 {
		t.Fatalf("tmp after reopen: %d entries, %v", len(ents), err)
	}
	readMD5 := func(key string) (store.ObjectInfo, string) {
		oi, rc, err := e.GetObject(ctx, "crash", key, nil)
		if err != nil {
			t.Fatalf("GetObject(%s): %v", key, err)
		}
		defer rc.Close()
		// Hash the whole object and, for multipart objects, each part.
		h, etags := md5.New(), md5.New()
		var n int64
		for _, p := range oi.Parts {
			ph := md5.New()
			c, err := io.CopyN(io.MultiWriter(h, ph), rc, p.Size)
			n += c
			if err != nil {
				t.Fatalf("read %s part %d: %v", key, p.Number, err)
			}
			etags.Write(ph.Sum(nil))
		}
		c, err := io.Copy(h, rc)
		n += c
		if err != nil {
			t.Fatalf("read %s: %v", key, err)
		}
		if n != oi.Size {
			t.Fatalf("%s: read %d bytes, size %d", key, n, oi.Size)
		}
		if oi.Parts != nil {
			if want := fmt.Sprintf("%x-%d", etags.Sum(nil), len(oi.Parts)); oi.ETag != want {
				t.Fatalf("multipart %s: etag %s, parts hash to %s", key, oi.ETag, want)
			}
		}
		return oi, hex.EncodeToString(h.Sum(nil))
	}
	for key, sum := range acked {
		if strings.HasPrefix(key, "shared/") {
			continue // a later unacknowledged put may have won
		}
		if maybeDeleted[key] {
			// A delete was under way at the kill: gone, or still whole.
			if _, err := e.HeadObject(ctx, "crash", key); errors.Is(err, store.ErrNoSuchKey) {
				continue
			}
		}
		if _, got := readMD5(key); got != sum {
			t.Fatalf("acknowledged %s: md5 %s, want %s", key, got, sum)
		}
	}
	for key := range deleted {
		if _, err := e.HeadObject(ctx, "crash", key); !errors.Is(err, store.ErrNoSuchKey) {
			t.Fatalf("acknowledged delete of %s: HeadObject = %v", key, err)
		}
	}
	listed := 0
	after := ""
	for {
		res, err := e.ListObjects(ctx, "crash", store.ListOptions{After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			oi, sum := readMD5(o.Key)
			if oi.Parts == nil && sum != oi.ETag {
				t.Fatalf("listed %s: md5 %s, etag %s", o.Key, sum, oi.ETag)
			}
			listed++
		}
		if !res.IsTruncated {
			break
		}
		after = res.NextAfter
	}
	// After the sweep every data file belongs to an object or a part.
	<-e.sweepDone
	parts := 0
	ups, err := e.ListMultipartUploads(ctx, "crash", store.ListUploadsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups.Uploads {
		lp, err := e.ListParts(ctx, "crash", u.Key, u.UploadID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		parts += len(lp.Parts)
	}
	if files := bodies(t, e, dir); files != listed+parts {
		t.Fatalf("%d data files after the sweep, want %d objects + %d parts", files, listed, parts)
	}
}
