package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/testtool"
)

// tinyImage returns a Spec's image fields for the tiny image built by
// `make images`: $INSITU_TINY_IMAGE, else examples/images/tiny at the
// module root. The root disk is copied into a temp dir so a rebuild of
// the image cannot disturb the test.
func tinyImage(t *testing.T) Spec {
	t.Helper()
	dir, man := testtool.TinyImage(t)
	base := filepath.Join(t.TempDir(), "base.img")
	copyFile(t, filepath.Join(dir, man.Root), base)
	return Spec{Kernel: filepath.Join(dir, man.Kernel), Initrd: filepath.Join(dir, man.Initrd),
		RootBase: base, Cmdline: man.Cmdline}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileSHA(t *testing.T, p string) [32]byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// waitConsole waits for marker in dir's console after byte offset from
// and returns the offset just past it.
func waitConsole(t *testing.T, m *Machine, from int, marker string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := ConsoleTail(m.dir, 8<<20)
		if from <= len(b) {
			if i := bytes.Index(b[from:], []byte(marker)); i >= 0 {
				return from + i + len(marker)
			}
		}
		select {
		case <-m.Done():
			t.Fatalf("QEMU exited waiting for %q; console:\n%s", marker, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the console within %s; console:\n%s", marker, timeout, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getPage fetches http://f/ (through the forward).
func getPage(f Forward) (string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + f.key() + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestTinyImage(t *testing.T) {
	testtool.NeedQEMU(t)
	ctx := context.Background()
	spec := tinyImage(t)
	baseSum := fileSHA(t, spec.RootBase)
	host, reached := hostTrap(t)
	dir := t.TempDir()
	spec.Dir, spec.MemoryMiB, spec.VCPUs, spec.Accel = dir, 128, 1, AccelTCG
	spec.MetadataCmd = []string{os.Args[0], imdsHelperArg, strconv.Itoa(host.Addr().(*net.TCPAddr).Port)}
	t.Cleanup(func() { killDir(t, dir) })

	start := time.Now()
	m, err := Start(ctx, spec, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	started := time.Since(start)
	off := waitConsole(t, m, 0, "insitu-tiny: instance "+testInstanceID, 60*time.Second)
	// vm tells the guest its address (insitu.ip=): no DHCP.
	waitConsole(t, m, 0, "insitu-tiny: network up 169.254.0.15 (insitu.ip)", time.Second)
	off = waitConsole(t, m, off, "insitu-tiny: ready", 30*time.Second)
	t.Logf("Start returned after %s; \"insitu-tiny: ready\" after %s", started, time.Since(start))
	waitConsole(t, m, 0, "marker: absent", 10*time.Second)
	waitConsole(t, m, 0, "outbound: blocked", 10*time.Second)
	select {
	case <-reached:
		t.Fatal("the guest reached the host's loopback")
	default:
	}

	f := freeForward(t, 80)
	if _, err := getPage(f); err == nil {
		t.Fatal("port 80 answered before it was forwarded")
	}
	if err := m.SetForwards(ctx, []Forward{f}); err != nil {
		t.Fatal(err)
	}
	if page, err := getPage(f); err != nil || !strings.Contains(page, testInstanceID) {
		t.Fatalf("page through the forward: %q, %v", page, err)
	}
	adoptResetPowerDown(t, m, f, off)
	if sum := fileSHA(t, spec.RootBase); sum != baseSum {
		t.Fatal("the base disk changed")
	}
	restartAndKill(t, spec, f)
}

// hostTrap listens on the host's loopback, which the guest must not
// reach (restrict=on); the channel gets a value if it does.
func hostTrap(t *testing.T) (net.Listener, <-chan struct{}) {
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	reached := make(chan struct{}, 1)
	go func() {
		if c, err := host.Accept(); err == nil {
			c.Close()
			reached <- struct{}{}
		}
	}()
	return host, reached
}

// adoptResetPowerDown drops m, adopts its QEMU again, resets it and
// powers it off through the adopted handle.
func adoptResetPowerDown(t *testing.T, m *Machine, f Forward, off int) {
	ctx := context.Background()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := Adopt(ctx, m.dir, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if page, err := getPage(f); err != nil || !strings.Contains(page, testInstanceID) {
		t.Fatalf("page after Adopt: %q, %v", page, err)
	}
	start := time.Now()
	if err := a.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	waitConsole(t, a, off, "insitu-tiny: ready", 60*time.Second)
	t.Logf("Reset to \"insitu-tiny: ready\" again: %s", time.Since(start))
	waitConsole(t, a, off, "marker: found", 10*time.Second)
	if page, err := getPage(f); err != nil || !strings.Contains(page, testInstanceID) {
		t.Fatalf("page after Reset: %q, %v", page, err)
	}
	start = time.Now()
	if err := a.PowerDown(ctx, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("ACPI PowerDown took %s", took)
	if took > 10*time.Second {
		t.Fatalf("PowerDown took %s: the guest ignored the power button", took)
	}
}

// restartAndKill starts the machine again on the kept overlay, finds the
// file the first boot wrote, and kills it.
func restartAndKill(t *testing.T, spec Spec, f Forward) {
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(spec.Dir, diskFile)); err != nil {
		t.Fatalf("overlay not kept: %v", err)
	}
	before, _ := ConsoleTail(spec.Dir, 8<<20)
	spec.Forwards = []Forward{f}
	start := time.Now()
	m, err := Start(ctx, spec, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	waitConsole(t, m, len(before), "insitu-tiny: ready", 60*time.Second)
	t.Logf("second Start to \"insitu-tiny: ready\": %s", time.Since(start))
	waitConsole(t, m, len(before), "marker: found", 10*time.Second)
	if page, err := getPage(f); err != nil || !strings.Contains(page, testInstanceID) {
		t.Fatalf("page after the second Start: %q, %v", page, err)
	}
	start = time.Now()
	if err := m.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Kill took %s", time.Since(start))
	if _, err := getPage(f); err == nil {
		t.Fatal("port 80 still answers after Kill")
	}
}
