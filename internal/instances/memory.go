package instances

import "syscall"

// hostMemoryMiB is the machine's RAM in MiB (1024 when unknown).
func hostMemoryMiB() int {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 1024
	}
	return int(uint64(si.Totalram) * uint64(si.Unit) >> 20)
}
