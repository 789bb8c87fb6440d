package s3load

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	KiB = 1 << 10 // bytes in a kibibyte
	MiB = 1 << 20 // bytes in a mebibyte
	GiB = 1 << 30 // bytes in a gibibyte
)

// ParseInts parses "1,16" into positive ints.
func ParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseSizes parses "4KiB,16MiB" into byte counts.
func ParseSizes(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := int64(1)
		num := f
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}} {
			if strings.HasSuffix(f, u.suffix) {
				num, mult = strings.TrimSuffix(f, u.suffix), u.mult
				break
			}
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a size like 4KiB or 16MiB", f)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

// SizeLabel prints a size the way the flags take it: 4KiB, 16MiB.
func SizeLabel(n int64) string {
	switch {
	case n >= GiB && n%GiB == 0:
		return fmt.Sprintf("%dGiB", n/GiB)
	case n >= MiB && n%MiB == 0:
		return fmt.Sprintf("%dMiB", n/MiB)
	case n >= KiB && n%KiB == 0:
		return fmt.Sprintf("%dKiB", n/KiB)
	}
	return fmt.Sprintf("%dB", n)
}
