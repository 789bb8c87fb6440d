package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// table prints rows as aligned text or as Markdown.
type table struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

func (t *table) print(markdown bool) {
	fmt.Printf("\n%s\n\n", t.title)
	if markdown {
		fmt.Println("| " + strings.Join(t.header, " | ") + " |")
		seps := make([]string, len(t.header))
		for i := range seps {
			seps[i] = "---"
			if i > 0 {
				seps[i] = "---:"
			}
		}
		fmt.Println("|" + strings.Join(seps, "|") + "|")
		for _, r := range t.rows {
			fmt.Println("| " + strings.Join(r, " | ") + " |")
		}
	} else {
		w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, strings.Join(t.header, "\t"))
		for _, r := range t.rows {
			fmt.Fprintln(w, strings.Join(r, "\t"))
		}
		w.Flush()
	}
	if len(t.notes) > 0 {
		fmt.Println()
		for _, n := range t.notes {
			fmt.Println(n)
		}
	}
}

// latencies summarises a sample of durations.
type latencies struct {
	n                  int
	p50, p90, p99, max time.Duration
	mean               time.Duration
	perSecond          float64 // runs per second of wall time
}

func summarize(d []time.Duration, wall time.Duration) latencies {
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	l := latencies{n: len(s)}
	if len(s) == 0 {
		return l
	}
	l.p50, l.p90, l.p99, l.max = pct(s, 50), pct(s, 90), pct(s, 99), s[len(s)-1]
	l.mean = sum / time.Duration(len(s))
	if wall > 0 {
		l.perSecond = float64(len(s)) / wall.Seconds()
	}
	return l
}

// pct is the p-th percentile (nearest rank) of sorted s.
func pct(s []time.Duration, p float64) time.Duration {
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(len(s)-1, i))]
}

// us formats d in microseconds, or milliseconds from 1 ms.
func us(d time.Duration) string {
	if d >= time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f µs", float64(d)/1e3)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ratio(x float64) string { return fmt.Sprintf("%.2fx", x) }
