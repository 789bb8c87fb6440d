package vm

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// Files in a machine's directory.
const (
	diskFile     = "disk.qcow2"
	consoleFile  = "console.log"
	qemuLogFile  = "qemu.log"
	qmpFile      = "qmp.sock"
	pidFile      = "qemu.pid"
	forwardsFile = "forwards.json"
)

// Guest network constants (the shared contract with the lifecycle).
const (
	netdevID     = "net0"
	guestNet     = "169.254.0.0/16"
	guestHost    = "169.254.0.2"
	guestDHCP    = "169.254.0.15"
	guestMask    = "255.255.0.0"
	metadataAddr = "169.254.169.254:80"
)

// guestIPParam tells the guest its fixed slirp address, gateway and mask
// (insitu.ip=ADDRESS:GATEWAY:NETMASK), so an image that knows it (the
// tiny image) configures eth0 without DHCP; the kernel ignores it.
const guestIPParam = "insitu.ip=" + guestDHCP + ":" + guestHost + ":" + guestMask

// qemuEscape doubles commas, as QEMU's option parser wants in values.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// qmpOption is the -qmp value for dir; /proc/PID/cmdline containing it
// is how a process is recognised as dir's QEMU.
func qmpOption(dir string) string {
	return "unix:" + qemuEscape(filepath.Join(dir, qmpFile)) + ",server=on,wait=off"
}

// kernelCmdline is the image's command line plus what vm adds: the
// console, panic=-1 and the guest's address (guestIPParam). tscKHz > 0
// adds tsc_early_khz (microvm under TCG hangs calibrating the TSC
// without it).
func kernelCmdline(image string, tscKHz int) string {
	parts := []string{strings.TrimSpace(image), "console=ttyS0", "panic=-1", guestIPParam}
	if tscKHz > 0 {
		parts = append(parts, "tsc_early_khz="+strconv.Itoa(tscKHz))
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

// netdevOption is the -netdev value: slirp restricted to the guest,
// the metadata guestfwd and one hostfwd per forward.
func netdevOption(s Spec) string {
	opts := []string{"user", "id=" + netdevID, "restrict=on", "net=" + guestNet,
		"host=" + guestHost, "dhcpstart=" + guestDHCP}
	if len(s.MetadataCmd) > 0 {
		cmd := strings.Join(s.MetadataCmd, " ")
		opts = append(opts, "guestfwd=tcp:"+metadataAddr+"-cmd:"+qemuEscape(cmd))
	}
	for _, f := range s.Forwards {
		opts = append(opts, "hostfwd="+f.rule())
	}
	return strings.Join(opts, ",")
}

// qemuArgs is QEMU's argument list for a normalized spec. disk is the
// overlay path or "" for none; tscKHz is used only under TCG.
func qemuArgs(s Spec, disk string, tscKHz int) []string {
	a := []string{"-M", "microvm"}
	if s.Accel == AccelKVM {
		a = append(a, "-accel", "kvm", "-cpu", "host")
		tscKHz = 0
	} else {
		a = append(a, "-accel", "tcg,tb-size=32", "-cpu", "max")
	}
	a = append(a, "-name", qemuEscape("insitu-"+filepath.Base(s.Dir)), "-m", strconv.Itoa(s.MemoryMiB)+"M", "-smp", strconv.Itoa(s.VCPUs),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-chardev", "file,id=con0,append=on,path="+qemuEscape(filepath.Join(s.Dir, consoleFile)),
		"-serial", "chardev:con0",
		"-qmp", qmpOption(s.Dir),
		"-pidfile", filepath.Join(s.Dir, pidFile))
	if s.Kernel != "" {
		a = append(a, "-kernel", s.Kernel, "-append", kernelCmdline(s.Cmdline, tscKHz))
	}
	if s.Initrd != "" {
		a = append(a, "-initrd", s.Initrd)
	}
	if disk != "" {
		a = append(a, "-drive", "id=d0,if=none,format=qcow2,file="+qemuEscape(disk),
			"-device", "virtio-blk-device,drive=d0")
	}
	return append(a, "-netdev", netdevOption(s), "-device", "virtio-net-device,netdev="+netdevID)
}

// tscRE matches the kernel's TSC lines; the refined calibration is the
// better value, the detected one the fallback.
var tscRE = regexp.MustCompile(`tsc: (?:(Refined) TSC clocksource calibration: |Detected )([0-9]+)\.?([0-9]{0,3})[0-9]* MHz`)

// hostTSCkHz is the host's TSC frequency in kHz: from the kernel log
// (/dev/kmsg) when readable, else /proc/cpuinfo's "cpu MHz"; 0 when
// neither says.
func hostTSCkHz() int {
	if k := kmsgTSCkHz(); k > 0 {
		return k
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return cpuinfoMHzkHz(b)
}

// parseTSC finds the best TSC line in kernel log text.
func parseTSC(log []byte) int {
	best, bestRefined := 0, false
	for _, m := range tscRE.FindAllSubmatch(log, -1) {
		refined := len(m[1]) > 0
		if best > 0 && bestRefined && !refined {
			continue
		}
		best, bestRefined = mhzTokHz(string(m[2]), string(m[3])), refined
	}
	return best
}

// mhzTokHz turns "2445" "404" into 2445404.
func mhzTokHz(whole, frac string) int {
	w, _ := strconv.Atoi(whole)
	frac = (frac + "000")[:3]
	f, _ := strconv.Atoi(frac)
	return w*1000 + f
}

// kmsgTSCkHz reads the kernel log without blocking (raw syscalls: an
// *os.File would park in the poller instead of returning EAGAIN).
func kmsgTSCkHz() int {
	fd, err := syscall.Open("/dev/kmsg", syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer syscall.Close(fd)
	var all bytes.Buffer
	buf := make([]byte, 8192)
	for all.Len() < 4<<20 {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EPIPE || err == syscall.EINTR {
			continue // a record was overwritten while we read; read on
		}
		if err != nil || n <= 0 {
			break
		}
		all.Write(buf[:n])
		all.WriteByte('\n')
	}
	return parseTSC(all.Bytes())
}

// cpuinfoMHzkHz is the first "cpu MHz" line of /proc/cpuinfo in kHz.
func cpuinfoMHzkHz(b []byte) int {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) != "cpu MHz" {
			continue
		}
		whole, frac, _ := strings.Cut(strings.TrimSpace(v), ".")
		return mhzTokHz(whole, frac)
	}
	return 0
}
