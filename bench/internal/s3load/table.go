package s3load

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Table prints head and body as a right-aligned text table, or as a
// Markdown table when markdown is set.
func Table(w io.Writer, markdown bool, head []string, body [][]string) {
	if markdown {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
		sep := make([]string, len(head))
		sep[0] = "---"
		for i := 1; i < len(sep); i++ {
			sep[i] = "---:"
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(sep, " | "))
		for _, l := range body {
			fmt.Fprintf(w, "| %s |\n", strings.Join(l, " | "))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, l := range body {
		fmt.Fprintln(tw, strings.Join(l, "\t")+"\t")
	}
	tw.Flush()
}

// Ratio is a/b by operations per second (for PUT and GET the same as by
// MiB/s); rows under goal are flagged, "-" when b measured nothing.
func Ratio(a, b Result, goal float64) string {
	if b.Ops == 0 {
		return "-"
	}
	r := a.OpsPerSec() / b.OpsPerSec()
	s := fmt.Sprintf("%.2fx", r)
	if r < goal {
		s += fmt.Sprintf(" (<%.1f)", goal)
	}
	return s
}

// Num prints a rate with three significant digits at most.
func Num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// Ms prints d in milliseconds.
func Ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// RandomBytes returns n bytes of a fixed pseudo-random sequence
// (incompressible, the same in every run).
func RandomBytes(n int64) []byte {
	r := rand.NewChaCha8([32]byte{'s', '3', 'b', 'e', 'n', 'c', 'h'})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// LoadAvg is the first three fields of /proc/loadavg, or "unknown".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
