package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// countingEngine is a real engine that counts GetObject calls and can
// hold each one for a while (so concurrent Fetches overlap) or until its
// context ends (the first call only, when holdFirst is set).
type countingEngine struct {
	store.Engine
	gets      atomic.Int64
	delay     time.Duration
	holdFirst bool
}

func (e *countingEngine) GetObject(ctx context.Context, bucket, key string, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
	if e.gets.Add(1) == 1 && e.holdFirst {
		<-ctx.Done()
		return store.ObjectInfo{}, nil, ctx.Err()
	}
	time.Sleep(e.delay)
	return e.Engine.GetObject(ctx, bucket, key, rng)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEngine is a local engine with bucket "imgs" holding objects.
func newEngine(t *testing.T, objects map[string]string) *countingEngine {
	t.Helper()
	ctx := context.Background()
	eng, err := local.Open(ctx, filepath.Join(t.TempDir(), "store"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if err := eng.CreateBucket(ctx, store.BucketInfo{Name: "imgs", Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	e := &countingEngine{Engine: eng}
	for k, v := range objects {
		e.put(t, k, v)
	}
	return e
}

func (e *countingEngine) put(t *testing.T, key, v string) {
	t.Helper()
	if _, err := e.PutObject(context.Background(), "imgs", key, strings.NewReader(v), int64(len(v)), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func file(key, content string) ec2api.ImageFile {
	sum := sha256.Sum256([]byte(content))
	return ec2api.ImageFile{Bucket: "imgs", Key: key, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}
}

var tiny = map[string]string{"t/vmlinuz": "KERNEL", "t/initrd.img": "INITRD", "t/root.img": strings.Repeat("disk", 50000)}

func tinyImage() ec2api.Image {
	return ec2api.Image{ID: "ami-0123456789abcdef0", Cmdline: "quiet root=/dev/vda",
		Kernel: file("t/vmlinuz", tiny["t/vmlinuz"]), Initrd: file("t/initrd.img", tiny["t/initrd.img"]), Root: file("t/root.img", tiny["t/root.img"])}
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Fatalf("%s: %d bytes, %v; want %d bytes", path, len(b), err, len(want))
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o444 {
		t.Fatalf("%s: mode %v, %v; want read-only", path, st.Mode(), err)
	}
}

// TestFetch: the files land under DIR/<sha256> with the registered
// bytes, read-only; a second Fetch reads nothing; an image without root
// has Root "".
func TestFetch(t *testing.T) {
	ctx := context.Background()
	eng := newEngine(t, tiny)
	dir := t.TempDir()
	c := New(dir, eng, quiet())
	img := tinyImage()
	f, err := c.Fetch(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if f.Cmdline != img.Cmdline || f.Kernel != filepath.Join(dir, img.Kernel.SHA256) || f.Root != filepath.Join(dir, img.Root.SHA256) {
		t.Fatalf("files %+v", f)
	}
	wantContent(t, f.Kernel, tiny["t/vmlinuz"])
	wantContent(t, f.Initrd, tiny["t/initrd.img"])
	wantContent(t, f.Root, tiny["t/root.img"])
	if n := eng.gets.Load(); n != 3 {
		t.Fatalf("%d reads for 3 files", n)
	}
	img.Root = ec2api.ImageFile{}
	again, err := New(dir, eng, quiet()).Fetch(ctx, img) // a new Cache (a restarted node) on the same dir
	if err != nil || again.Root != "" || again.Kernel != f.Kernel {
		t.Fatalf("again: %+v, %v", again, err)
	}
	if n := eng.gets.Load(); n != 3 {
		t.Fatalf("cached files read again: %d reads", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

// TestFetchChanged: an object rewritten (or deleted) since registration
// is ErrChanged, and nothing of it is kept.
func TestFetchChanged(t *testing.T) {
	ctx := context.Background()
	eng := newEngine(t, tiny)
	dir := t.TempDir()
	c := New(dir, eng, quiet())
	img := tinyImage()
	eng.put(t, "t/initrd.img", "INITRX") // same size, other bytes
	_, err := c.Fetch(ctx, img)
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "image file changed since registration") {
		t.Fatalf("changed initrd: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, img.Initrd.SHA256)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a changed file was kept: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if err := eng.DeleteObject(ctx, "imgs", "t/root.img"); err != nil {
		t.Fatal(err)
	}
	img.Initrd = file("t/initrd.img", "INITRX")
	if _, err := c.Fetch(ctx, img); !errors.Is(err, ErrChanged) {
		t.Fatalf("deleted root: %v", err)
	}
	img.Root.SHA256 = "../../etc/passwd"
	if _, err := c.Fetch(ctx, img); err == nil || !strings.Contains(err.Error(), "invalid SHA-256") {
		t.Fatalf("a bad SHA-256: %v", err)
	}
}

// TestFetchConcurrent: many Fetches of one image at once read each file
// from the store once.
func TestFetchConcurrent(t *testing.T) {
	eng := newEngine(t, tiny)
	eng.delay = 100 * time.Millisecond
	c := New(t.TempDir(), eng, quiet())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			f, err := c.Fetch(context.Background(), tinyImage())
			if err == nil && f.Root == "" {
				err = errors.New("no root")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := eng.gets.Load(); n != 3 {
		t.Fatalf("%d reads of 3 files by 8 concurrent Fetches", n)
	}
}

// TestFetchLeaderGivesUp: when the Fetch doing a download is cancelled,
// a Fetch waiting on it downloads the file itself.
func TestFetchLeaderGivesUp(t *testing.T) {
	eng := newEngine(t, tiny)
	eng.holdFirst = true
	c := New(t.TempDir(), eng, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := c.Fetch(ctx, tinyImage()); first <- err }()
	for eng.gets.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() { _, err := c.Fetch(context.Background(), tinyImage()); second <- err }()
	time.Sleep(50 * time.Millisecond) // let the second join the first's download
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Fetch: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("the waiting Fetch: %v", err)
	}
}
