package vm

import (
	"slices"
	"strings"
	"testing"
)

func baseSpec(dir string) Spec {
	return Spec{Dir: dir, Kernel: "/img/vmlinuz", Initrd: "/img/initrd.img",
		Cmdline: "root=/dev/vda quiet", MemoryMiB: 256, VCPUs: 2, Accel: AccelTCG}
}

// argAfter is the value following flag in args ("" when absent).
func argAfter(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

func TestQEMUArgsTCG(t *testing.T) {
	s, err := baseSpec("/var/lib/insitu/i-1").normalize()
	if err != nil {
		t.Fatal(err)
	}
	s.Forwards = []Forward{{"127.100.0.7", 80, 80}, {"127.100.0.7", 2222, 22}}
	s.MetadataCmd = []string{"/usr/bin/insitu", "imds-relay", "/run/x,y.sock"}
	a := qemuArgs(s, "/var/lib/insitu/i-1/disk.qcow2", 2445404)
	for flag, want := range map[string]string{
		"-M": "microvm", "-name": "insitu-i-1", "-accel": "tcg,tb-size=32", "-cpu": "max", "-m": "256M", "-smp": "2",
		"-append":  "root=/dev/vda quiet console=ttyS0 panic=-1 insitu.ip=169.254.0.15:169.254.0.2:255.255.0.0 tsc_early_khz=2445404",
		"-qmp":     "unix:/var/lib/insitu/i-1/qmp.sock,server=on,wait=off",
		"-pidfile": "/var/lib/insitu/i-1/qemu.pid",
		"-chardev": "file,id=con0,append=on,path=/var/lib/insitu/i-1/console.log",
		"-serial":  "chardev:con0", "-kernel": "/img/vmlinuz", "-initrd": "/img/initrd.img",
		"-drive": "id=d0,if=none,format=qcow2,file=/var/lib/insitu/i-1/disk.qcow2",
		"-netdev": "user,id=net0,restrict=on,net=169.254.0.0/16,host=169.254.0.2,dhcpstart=169.254.0.15," +
			"guestfwd=tcp:169.254.169.254:80-cmd:/usr/bin/insitu imds-relay /run/x,,y.sock," +
			"hostfwd=tcp:127.100.0.7:80-:80,hostfwd=tcp:127.100.0.7:2222-:22",
	} {
		if got := argAfter(a, flag); got != want {
			t.Errorf("%s %q, want %q", flag, got, want)
		}
	}
	for _, flag := range []string{"-nodefaults", "-no-user-config", "-no-reboot"} {
		if !slices.Contains(a, flag) {
			t.Errorf("no %s in %q", flag, a)
		}
	}
	if !slices.Contains(a, "virtio-blk-device,drive=d0") || !slices.Contains(a, "virtio-net-device,netdev=net0") {
		t.Errorf("devices missing: %q", a)
	}
}

func TestQEMUArgsKVMNoDiskNoKernel(t *testing.T) {
	s, err := Spec{Dir: "/d/a,b", MemoryMiB: 128, VCPUs: 1, Accel: AccelKVM}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	a := qemuArgs(s, "", 2445404)
	if argAfter(a, "-accel") != "kvm" || argAfter(a, "-cpu") != "host" {
		t.Errorf("kvm args: %q", a)
	}
	if argAfter(a, "-qmp") != "unix:/d/a,,b/qmp.sock,server=on,wait=off" {
		t.Errorf("comma not doubled: %q", argAfter(a, "-qmp"))
	}
	for _, flag := range []string{"-kernel", "-append", "-initrd", "-drive"} {
		if slices.Contains(a, flag) {
			t.Errorf("%s given without a kernel or disk: %q", flag, a)
		}
	}
	if strings.Contains(argAfter(a, "-netdev"), "guestfwd") {
		t.Errorf("guestfwd without MetadataCmd: %q", argAfter(a, "-netdev"))
	}
	if got := kernelCmdline("", 0); got != "console=ttyS0 panic=-1 insitu.ip=169.254.0.15:169.254.0.2:255.255.0.0" {
		t.Errorf("kernelCmdline = %q", got)
	}
}

func TestNormalizeRefuses(t *testing.T) {
	ok := baseSpec("/tmp/x")
	for name, mod := range map[string]func(*Spec){
		"no dir":       func(s *Spec) { s.Dir = "" },
		"space in dir": func(s *Spec) { s.Dir = "/tmp/a b" },
		"long dir":     func(s *Spec) { s.Dir = "/tmp/" + strings.Repeat("d", 110) },
		"no memory":    func(s *Spec) { s.MemoryMiB = 0 },
		"no vcpus":     func(s *Spec) { s.VCPUs = -1 },
		"accel":        func(s *Spec) { s.Accel = "hvf" },
		"initrd only":  func(s *Spec) { s.Kernel = "" },
		"metadata arg": func(s *Spec) { s.MetadataCmd = []string{"/bin/x", "a b"} },
		"forward ip":   func(s *Spec) { s.Forwards = []Forward{{"localhost", 80, 80}} },
		"forward v6":   func(s *Spec) { s.Forwards = []Forward{{"::1", 80, 80}} },
		"forward port": func(s *Spec) { s.Forwards = []Forward{{"127.0.0.1", 0, 80}} },
		"guest port":   func(s *Spec) { s.Forwards = []Forward{{"127.0.0.1", 80, 70000}} },
		"twice": func(s *Spec) {
			s.Forwards = []Forward{{"127.0.0.1", 80, 80}, {"127.0.0.1", 80, 22}}
		},
	} {
		s := ok
		mod(&s)
		if _, err := s.normalize(); err == nil {
			t.Errorf("%s: accepted %+v", name, s)
		}
	}
	s, err := ok.normalize()
	if err != nil || s.QEMU != "qemu-system-x86_64" {
		t.Fatalf("normalize(ok) = %+v, %v", s, err)
	}
}

func TestParseTSC(t *testing.T) {
	for _, c := range []struct {
		log  string
		want int
	}{
		{"6,1,0,-;tsc: Detected 2445.404 MHz processor\n", 2445404},
		{"tsc: Detected 2445.404 MHz processor\n6,7,8,-;tsc: Refined TSC clocksource calibration: 2445.417 MHz\n", 2445417},
		{"tsc: Refined TSC clocksource calibration: 3000.1 MHz\ntsc: Detected 2999.000 MHz processor\n", 3000100},
		{"tsc: Detected 1800 MHz processor\n", 1800000},
		{"nothing here\n", 0},
	} {
		if got := parseTSC([]byte(c.log)); got != c.want {
			t.Errorf("parseTSC(%q) = %d, want %d", c.log, got, c.want)
		}
	}
	info := []byte("processor\t: 0\nmodel name\t: X\ncpu MHz\t\t: 2445.404\nflags\t\t: fpu vme svm sse\n")
	if got := cpuinfoMHzkHz(info); got != 2445404 {
		t.Errorf("cpuinfoMHzkHz = %d", got)
	}
	if !hasVirtFlag(info) || hasVirtFlag([]byte("flags\t: fpu vmxx sse\n")) {
		t.Error("hasVirtFlag wrong")
	}
	if k := hostTSCkHz(); k < 100000 {
		t.Errorf("hostTSCkHz() = %d kHz on this host", k)
	}
}
