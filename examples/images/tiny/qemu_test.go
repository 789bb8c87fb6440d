package tiny

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/testtool"
)

// hostKHz is the host's TSC frequency for tsc_early_khz= (microvm under TCG
// hangs calibrating it otherwise), from /proc/cpuinfo's "cpu MHz".
func hostKHz(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "cpu MHz" {
			mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil && mhz > 0 {
				return int(mhz * 1000)
			}
		}
	}
	t.Fatal("no cpu MHz in /proc/cpuinfo")
	return 0
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// guest is one QEMU process booting the image.
type guest struct {
	dir     string // console.log, qmp.sock
	cmd     *exec.Cmd
	exited  chan struct{}
	started time.Time
}

// bootSpec is what one boot needs.
type bootSpec struct {
	img               string // image directory
	m                 testtool.Manifest
	disk              string // qcow2 overlay
	dir               string // console.log, qmp.sock
	httpPort, sshPort int
	imdsSock          string
	trace             bool // insitu.trace: marker lines carry the guest's uptime
	staticIP          bool // insitu.ip= (as internal/vm adds): no DHCP
}

// qemuArgs is the command line (the one that works on this machine, see
// /work/shared/notes/qemu.md): microvm, TCG, slirp with restrict=on, the
// 169.254.0.0/16 guest subnet, hostfwd for 80 and 22, guestfwd for the
// metadata address to this test binary as a relay.
func qemuArgs(t *testing.T, s bootSpec) []string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	netdev := "user,id=net0,restrict=on,net=169.254.0.0/16,host=169.254.0.2,dhcpstart=169.254.0.15" +
		fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:80,hostfwd=tcp:127.0.0.1:%d-:22", s.httpPort, s.sshPort) +
		",guestfwd=tcp:169.254.169.254:80-cmd:" + self
	args := []string{
		"-M", "microvm", "-accel", "tcg,tb-size=32", "-cpu", "max", "-m", "128M", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-serial", "file:" + filepath.Join(s.dir, "console.log"),
		"-kernel", filepath.Join(s.img, s.m.Kernel), "-initrd", filepath.Join(s.img, s.m.Initrd),
		"-append", fmt.Sprintf("%s console=ttyS0 panic=-1 tsc_early_khz=%d%s%s", s.m.Cmdline, hostKHz(t), traceFlag(s.trace), staticIPFlag(s.staticIP)),
		"-netdev", netdev, "-device", "virtio-net-device,netdev=net0",
		"-qmp", "unix:" + filepath.Join(s.dir, "qmp.sock") + ",server=on,wait=off",
	}
	if s.disk != "" {
		args = append(args, "-drive", "id=d0,file="+s.disk+",format=qcow2,if=none", "-device", "virtio-blk-device,drive=d0")
	}
	return args
}

func traceFlag(on bool) string {
	if on {
		return " insitu.trace"
	}
	return ""
}

func staticIPFlag(on bool) string {
	if on {
		return " insitu.ip=169.254.0.15:169.254.0.2:255.255.0.0"
	}
	return ""
}

// boot starts QEMU; the test's cleanup kills it if it still runs.
func boot(t *testing.T, s bootSpec) *guest {
	t.Helper()
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("qemu-system-x86_64", qemuArgs(t, s)...)
	cmd.Env = append(os.Environ(), relayEnv+"="+s.imdsSock)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	g := &guest{dir: s.dir, cmd: cmd, exited: make(chan struct{}), started: time.Now()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(g.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-g.exited
		if stderr.Len() > 0 {
			t.Logf("qemu stderr: %s", stderr.String())
		}
	})
	return g
}

// console returns the serial console so far.
func (g *guest) console() string {
	b, _ := os.ReadFile(filepath.Join(g.dir, "console.log"))
	return string(b)
}

// waitConsole waits until the console contains want and returns the time
// since boot; it fails the test after timeout or when QEMU exits.
func (g *guest) waitConsole(t *testing.T, want string, timeout time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(g.console(), want) {
			return time.Since(g.started)
		}
		select {
		case <-g.exited:
			t.Fatalf("qemu exited before %q; console:\n%s", want, g.console())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the console after %v; console:\n%s", want, timeout, g.console())
		}
	}
}

// qmp sends one QMP command (after the greeting and qmp_capabilities) and
// waits for its return.
func (g *guest) qmp(ctx context.Context, command string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", filepath.Join(g.dir, "qmp.sock"))
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	r := bufio.NewReader(c)
	if _, err := r.ReadBytes('\n'); err != nil { // greeting
		return fmt.Errorf("qmp greeting: %w", err)
	}
	for _, cmd := range []string{"qmp_capabilities", command} {
		if _, err := fmt.Fprintf(c, "{\"execute\": %q}\n", cmd); err != nil {
			return err
		}
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return fmt.Errorf("qmp %s: %w", cmd, err)
			}
			var reply struct {
				Return json.RawMessage
				Error  *struct{ Desc string }
			}
			if err := json.Unmarshal(line, &reply); err != nil {
				return fmt.Errorf("qmp %s: %w", cmd, err)
			}
			if reply.Error != nil {
				return fmt.Errorf("qmp %s: %s", cmd, reply.Error.Desc)
			}
			if reply.Return != nil {
				break
			}
		}
	}
	return nil
}
