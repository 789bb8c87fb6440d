package local

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestCrashVersionedChild is the child half of TestCrashVersioned: in a
// bucket with versioning Enabled it puts (and completes uploads of) new
// versions of a few contended keys, writes delete markers and removes
// versions, printing "ACK <key> <version> <md5>" after each write returns,
// "MARK <key> <version>" after each delete marker, and "DELETING <key>
// <version>" / "DEL <key> <version>" around each version removal. It does
// nothing in a normal run. The bucket has Object Lock: a quarter of the
// puts carry a legal hold ("HOLD <key> <version>" after the ACK), and
// removals of held versions are refused (no DEL).
func TestCrashVersionedChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child of TestCrashVersioned only")
	}
	ctx := context.Background()
	e, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "vcrash", Owner: "o"}); err != nil && !errors.Is(err, store.ErrBucketOwnedByYou) {
		fmt.Fprintln(os.Stderr, "create bucket:", err)
		os.Exit(2)
	}
	if err := e.SetBucketVersioning(ctx, "vcrash", store.VersioningEnabled); err != nil {
		fmt.Fprintln(os.Stderr, "versioning:", err)
		os.Exit(2)
	}
	if err := e.SetObjectLockConfig(ctx, "vcrash", store.ObjectLockConfig{Enabled: true}, false); err != nil {
		fmt.Fprintln(os.Stderr, "object lock:", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			for {
				versionedStep(ctx, e, rng, say)
			}
		}()
	}
	wg.Wait()
}

// versionedStep is one random operation of TestCrashVersionedChild.
func versionedStep(ctx context.Context, e *Engine, rng *rand.Rand, say func(string, ...any)) {
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		os.Exit(3)
	}
	key := fmt.Sprintf("k%d", rng.IntN(5))
	data := make([]byte, rng.IntN(200_000))
	for j := range data {
		data[j] = byte(rng.Uint32())
	}
	sum := md5.Sum(data)
	switch p := rng.IntN(100); {
	case p < 55:
		hold := rng.IntN(4) == 0
		oi, err := e.PutObject(ctx, "vcrash", key, bytes.NewReader(data), int64(len(data)), store.PutOptions{Meta: store.ObjectMeta{LegalHold: hold}})
		if err != nil {
			fail("put: %v", err)
		}
		say("ACK %s %s %x", key, oi.VersionID, sum)
		if hold {
			say("HOLD %s %s", key, oi.VersionID)
		}
	case p < 70:
		up, err := e.CreateMultipartUpload(ctx, "vcrash", key, store.PutOptions{})
		if err != nil {
			fail("create upload: %v", err)
		}
		pi, err := e.UploadPart(ctx, "vcrash", key, up.UploadID, 1, bytes.NewReader(data), int64(len(data)), store.PutOptions{})
		if err != nil {
			fail("upload part: %v", err)
		}
		oi, err := e.CompleteMultipartUpload(ctx, "vcrash", key, up.UploadID, []store.CompletePart{{Number: 1, ETag: pi.ETag}})
		if err != nil {
			fail("complete: %v", err)
		}
		say("ACK %s %s %x", key, oi.VersionID, sum)
	case p < 80:
		res, err := e.DeleteObjectVersion(ctx, "vcrash", key, "")
		if err != nil {
			fail("delete: %v", err)
		}
		say("MARK %s %s", key, res.VersionID)
	default:
		ls, err := e.ListObjectVersions(ctx, "vcrash", store.ListVersionsOptions{Prefix: key, MaxKeys: 50})
		if err != nil || len(ls.Versions) == 0 {
			return
		}
		v := ls.Versions[rng.IntN(len(ls.Versions))].Info
		say("DELETING %s %s", v.Key, v.VersionID)
		_, err = e.DeleteObjectVersion(ctx, "vcrash", v.Key, v.VersionID)
		if errors.Is(err, store.ErrObjectLocked) {
			return
		}
		if err != nil {
			fail("delete version: %v", err)
		}
		say("DEL %s %s", v.Key, v.VersionID)
	}
}

// TestCrashVersioned SIGKILLs TestCrashVersionedChild at a random moment,
// reopens the store and checks that every acknowledged version and delete
// marker survived (whole, by its id) unless its removal was under way or
// acknowledged, that acknowledged removals stayed removed, that every
// listed version reads whole, and that after the sweep every data file
// belongs to a listed version or an upload's part. It repeats on the same
// directory.
func TestCrashVersioned(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	acked := map[string]string{} // key+" "+version -> md5, or "marker"
	removing := map[string]bool{}
	removed := map[string]bool{}
	held := map[string]bool{} // versions put under legal hold
	for round := 0; round < 3; round++ {
		want := 10 + rand.IntN(80)
		lines, stderr := runChild(t, "TestCrashVersionedChild", dir, fmt.Sprint("v", round), want)
		n := 0
		for _, l := range lines {
			f := strings.Fields(l)
			switch {
			case len(f) == 4 && f[0] == "ACK":
				acked[f[1]+" "+f[2]] = f[3]
				n++
			case len(f) == 3 && f[0] == "HOLD":
				held[f[1]+" "+f[2]] = true
			case len(f) == 3 && f[0] == "MARK":
				acked[f[1]+" "+f[2]] = "marker"
			case len(f) == 3 && f[0] == "DELETING":
				removing[f[1]+" "+f[2]] = true
			case len(f) == 3 && f[0] == "DEL":
				removed[f[1]+" "+f[2]] = true
				delete(acked, f[1]+" "+f[2])
			}
		}
		if n < want {
			t.Fatalf("round %d: child acknowledged %d writes, want %d; stderr:\n%s", round, n, want, stderr)
		}
		t.Logf("round %d: killed after %d acks", round, n)
		checkVersionsAfterCrash(t, dir, acked, removing, removed)
		checkHeldAfterCrash(t, dir, held, removed)
	}
}

// checkHeldAfterCrash: every version acknowledged with a legal hold is
// still there and held (its removals were refused), whatever the crash.
func checkHeldAfterCrash(t *testing.T, dir string, held, removed map[string]bool) {
	t.Helper()
	ctx := context.Background()
	e, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer e.Close()
	for kv := range held {
		key, id, _ := strings.Cut(kv, " ")
		oi, err := e.HeadObjectVersion(ctx, "vcrash", key, id)
		if err != nil || !oi.Meta.LegalHold || removed[kv] {
			t.Fatalf("held version %s after the crash: hold %v, %v (removal acknowledged: %v)", kv, oi.Meta.LegalHold, err, removed[kv])
		}
	}
	t.Logf("%d held versions kept", len(held))
}

func checkVersionsAfterCrash(t *testing.T, dir string, acked map[string]string, removing, removed map[string]bool) {
	t.Helper()
	ctx := context.Background()
	e, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer e.Close()
	for kv, sum := range acked {
		key, id, _ := strings.Cut(kv, " ")
		got, err := readVersionMD5(ctx, e, key, id)
		if removing[kv] && errors.Is(err, store.ErrNoSuchVersion) {
			continue
		}
		if err != nil || got != sum {
			t.Fatalf("acknowledged %s: %q, %v; want %s", kv, got, err, sum)
		}
	}
	for kv := range removed {
		key, id, _ := strings.Cut(kv, " ")
		if _, err := readVersionMD5(ctx, e, key, id); !errors.Is(err, store.ErrNoSuchVersion) {
			t.Fatalf("acknowledged removal of %s: %v", kv, err)
		}
	}
	res, err := e.ListObjectVersions(ctx, "vcrash", store.ListVersionsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objects := 0
	for _, v := range res.Versions {
		got, err := readVersionMD5(ctx, e, v.Info.Key, v.Info.VersionID)
		if err != nil || (!v.Info.DeleteMarker && v.Info.Parts == nil && got != v.Info.ETag) {
			t.Fatalf("listed %s %s: %q, %v (etag %s)", v.Info.Key, v.Info.VersionID, got, err, v.Info.ETag)
		}
		if !v.Info.DeleteMarker {
			objects++
		}
	}
	<-e.sweepDone
	parts := countParts(t, ctx, e, "vcrash")
	if files := bodies(t, e, dir); files != objects+parts {
		t.Fatalf("%d data files after the sweep, want %d versions + %d parts", files, objects, parts)
	}
}

// readVersionMD5 returns the hex MD5 of a version's bytes, or "marker".
func readVersionMD5(ctx context.Context, e *Engine, key, id string) (string, error) {
	_, rc, err := e.GetObjectVersion(ctx, "vcrash", key, id, nil)
	if errors.Is(err, store.ErrVersionIsDeleteMarker) {
		return "marker", nil
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := md5.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// countParts counts the stored parts of bucket's uploads in progress.
func countParts(t *testing.T, ctx context.Context, e *Engine, bucket string) int {
	t.Helper()
	ups, err := e.ListMultipartUploads(ctx, bucket, store.ListUploadsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts := 0
	for _, u := range ups.Uploads {
		lp, err := e.ListParts(ctx, bucket, u.Key, u.UploadID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		parts += len(lp.Parts)
	}
	return parts
}
