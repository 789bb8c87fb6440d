package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// deviceWritten is the bytes written so far to the machine's block
// devices (/sys/block/*/stat, sectors written), loop, RAM and
// device-mapper devices left out so nothing counts twice. It is 0 where
// the files are missing. Everything on the machine counts: read it on a
// quiet machine.
func deviceWritten() int64 { return deviceSectors(6) * 512 }

// deviceRead is deviceWritten for the bytes read (sectors read).
func deviceRead() int64 { return deviceSectors(2) * 512 }

// deviceSectors sums field (0-based) of every counted device's stat.
func deviceSectors(field int) int64 {
	dirs, _ := filepath.Glob("/sys/block/*")
	var total int64
	for _, d := range dirs {
		name := filepath.Base(d)
		if skipDevice(name) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) <= field {
			continue
		}
		sectors, _ := strconv.ParseInt(f[field], 10, 64)
		total += sectors
	}
	return total
}

func skipDevice(name string) bool {
	for _, p := range []string{"loop", "ram", "zram", "dm-", "md", "sr", "nbd"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
