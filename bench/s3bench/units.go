package main

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// parseInts parses "1,16" into positive ints.
func parseInts(s string) ([]int, error) {
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

// parseSizes parses "4KiB,16MiB" into byte counts.
func parseSizes(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := int64(1)
		num := f
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"GiB", gib}, {"MiB", mib}, {"KiB", kib}, {"B", 1}} {
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

// sizeLabel prints a size the way the flags take it: 4KiB, 16MiB.
func sizeLabel(n int64) string {
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%dGiB", n/gib)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%dMiB", n/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%dKiB", n/kib)
	}
	return fmt.Sprintf("%dB", n)
}
