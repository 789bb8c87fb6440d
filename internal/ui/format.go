package ui

import (
	"encoding/json"
	"fmt"
	"strings"
)

// humanBytes formats n as B, KiB, MiB, GiB or TiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}

// pct is used*100/total clamped to 0..100 (0 when total is 0).
func pct(used, total int64) float64 {
	if total <= 0 || used <= 0 {
		return 0
	}
	return min(float64(used)*100/float64(total), 100)
}

// baseName is the last segment of a key (a trailing slash kept).
func baseName(key string) string {
	k := strings.TrimSuffix(key, "/")
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		return key[i+1:]
	}
	return key
}

func itoa(n int) string { return fmt.Sprint(n) }

// jsonIndent is v as indented JSON, for showing a definition.
func jsonIndent(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}
