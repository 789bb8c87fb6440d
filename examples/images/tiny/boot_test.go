package tiny

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/testtool"
)

// readyTimeout bounds one boot to "insitu-tiny: ready": about 3 s on an
// idle machine under TCG, much more when other guests share the CPUs.
const readyTimeout = 3 * time.Minute

// TestBoot boots the built image twice from one copy-on-write disk with
// plain QEMU under TCG: the guest takes its address by DHCP (on the second
// boot from insitu.ip=, as under internal/vm), reads its
// metadata (IMDSv2) through a guestfwd relay, serves its instance id on
// port 80 and SSH on 22 with the metadata's key, runs its user data, powers
// off on ACPI power-off, and keeps a file written over SSH (and its SSH
// host key) across the power cycle.
func TestBoot(t *testing.T) {
	testtool.Need(t, "qemu-system-x86_64", "qemu-system-x86")
	testtool.Need(t, "qemu-img", "qemu-utils")
	testtool.Need(t, "ssh", "openssh-client")
	testtool.Need(t, "ssh-keygen", "openssh-client")
	img, m := testtool.TinyImage(t)
	tmp := t.TempDir()
	key := filepath.Join(tmp, "key")
	// RSA: what CreateKeyPair makes by default (OpenSSH signs with
	// rsa-sha2-256, which dropbear must accept).
	run(t, "ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "tiny-test", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	const id = "i-0123456789abcdef0"
	md := startIMDS(t, filepath.Join(tmp, "imds.sock"), id, string(pub), "#!/bin/sh\necho USERDATA-MARK $(id -u)\n")
	disk := filepath.Join(tmp, "disk.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", filepath.Join(img, m.Root), "-F", "raw", disk)
	s := bootSpec{img: img, m: m, disk: disk, imdsSock: filepath.Join(tmp, "imds.sock"),
		httpPort: freePort(t), sshPort: freePort(t), trace: true}
	ssh := sshArgs(key, filepath.Join(tmp, "known_hosts"), s.sshPort)

	s.dir = filepath.Join(tmp, "boot1")
	g := boot(t, s)
	t.Logf("boot 1: ready after %v", g.waitConsole(t, "insitu-tiny: ready", readyTimeout))
	con := g.console()
	t.Logf("console:\n%s", con)
	for _, want := range []string{"insitu-tiny: network up 169.254.0.15 (dhcp)", "insitu-tiny: instance " + id} {
		if !strings.Contains(con, want) {
			t.Errorf("console lacks %q:\n%s", want, con)
		}
	}
	if md.v2Gets.Load() == 0 {
		t.Error("the guest never sent an IMDSv2 token")
	}
	if page := httpGet(t, s.httpPort); !strings.Contains(page, id) {
		t.Errorf("port 80 served %q, want the instance id %s", page, id)
	}
	run(t, "ssh", append(ssh, "-o", "StrictHostKeyChecking=no", "root@127.0.0.1", "echo hi > /root/f; sync")...)
	// restrict=on: the host's loopback (slirp's 169.254.0.2) is closed to
	// the guest.
	port, reached := watchLoopback(t)
	run(t, "ssh", append(ssh, "root@127.0.0.1", fmt.Sprintf("timeout 3 nc -w 2 169.254.0.2 %d </dev/null; true", port))...)
	if reached() {
		t.Error("the guest reached a listener on the host's 127.0.0.1 through 169.254.0.2")
	}
	g.waitConsole(t, "USERDATA-MARK 0", 30*time.Second)
	powerDown(t, g, 10*time.Second)

	// The second boot takes its address from insitu.ip=, as under
	// internal/vm, instead of DHCP.
	s.dir, s.staticIP = filepath.Join(tmp, "boot2"), true
	g = boot(t, s)
	t.Logf("boot 2: ready after %v", g.waitConsole(t, "insitu-tiny: ready", readyTimeout))
	if con := g.console(); !strings.Contains(con, "insitu-tiny: network up 169.254.0.15 (insitu.ip)") {
		t.Errorf("boot 2 did not configure eth0 from insitu.ip=:\n%s", con)
	}
	if page := httpGet(t, s.httpPort); !strings.Contains(page, id) {
		t.Errorf("boot 2: port 80 served %q, want the instance id %s", page, id)
	}
	// StrictHostKeyChecking=yes: the host key generated on the first boot
	// must still be the guest's.
	out := run(t, "ssh", append(ssh, "-o", "StrictHostKeyChecking=yes", "root@127.0.0.1", "cat /root/f")...)
	if out != "hi\n" {
		t.Errorf("/root/f after a power cycle = %q, want %q", out, "hi\n")
	}
	powerDown(t, g, 10*time.Second)
}

// sshArgs are the ssh client's options for the guest's forwarded port.
func sshArgs(key, knownHosts string, port int) []string {
	return []string{"-i", key, "-p", fmt.Sprint(port), "-o", "UserKnownHostsFile=" + knownHosts,
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20", "-F", "/dev/null"}
}

// run runs a command and returns its stdout; it fails the test on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// httpGet returns the body of http://127.0.0.1:port/.
func httpGet(t *testing.T, port int) string {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET port 80: %s %v", resp.Status, err)
	}
	return string(b)
}

// watchLoopback listens on 127.0.0.1 until the test ends and reports
// whether anything connected.
func watchLoopback(t *testing.T) (port int, reached func() bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			got.Store(true)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).Port, got.Load
}

// powerDown presses the ACPI power button over QMP and waits for QEMU to
// exit by itself (the guest powers off), failing after within.
func powerDown(t *testing.T, g *guest, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := g.qmp(ctx, "system_powerdown"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.exited:
		t.Logf("powered off %v after system_powerdown", time.Since(start))
	case <-time.After(within):
		t.Fatalf("qemu still runs %v after system_powerdown; console:\n%s", within, g.console())
	}
}

// TestBootNoDisk boots the initramfs alone (an image without a root disk):
// it still takes its address, reads its metadata and serves port 80.
func TestBootNoDisk(t *testing.T) {
	testtool.Need(t, "qemu-system-x86_64", "qemu-system-x86")
	img, m := testtool.TinyImage(t)
	tmp := t.TempDir()
	const id = "i-00000000000000abc"
	startIMDS(t, filepath.Join(tmp, "imds.sock"), id, "", "")
	s := bootSpec{img: img, m: m, dir: filepath.Join(tmp, "boot"), imdsSock: filepath.Join(tmp, "imds.sock"),
		httpPort: freePort(t), sshPort: freePort(t)}
	g := boot(t, s)
	t.Logf("ready after %v", g.waitConsole(t, "insitu-tiny: ready", readyTimeout))
	for _, want := range []string{"running from the initramfs", "insitu-tiny: instance " + id} {
		if con := g.console(); !strings.Contains(con, want) {
			t.Errorf("console lacks %q:\n%s", want, con)
		}
	}
	if page := httpGet(t, s.httpPort); !strings.Contains(page, id) {
		t.Errorf("port 80 served %q, want the instance id %s", page, id)
	}
	powerDown(t, g, 10*time.Second)
}
