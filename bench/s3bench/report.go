package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// printTables prints the throughput table (with the ratio insitu/minio),
// then latencies, listing details and any errors.
func printTables(w io.Writer, cfg *config, targets []*target, rows []rowResult) {
	both := len(targets) == 2
	head := []string{"row"}
	for _, t := range targets {
		head = append(head, t.name+" ops/s", t.name+" MiB/s")
	}
	if both {
		head = append(head, "ratio")
	}
	var body [][]string
	for _, r := range rows {
		line := []string{r.name}
		for _, t := range targets {
			res := r.res[t.name]
			mibs := "-"
			if r.kind != "LIST" {
				mibs = num(res.mibPerSec())
			}
			line = append(line, num(res.opsPerSec()), mibs)
		}
		if both {
			line = append(line, ratio(r.res["insitu"], r.res["minio"]))
		}
		body = append(body, line)
	}
	fmt.Fprintln(w, "Throughput (LIST: full listings per second):")
	table(w, cfg.markdown, head, body)

	head = []string{"row"}
	for _, t := range targets {
		head = append(head, t.name+" p50", t.name+" p99", t.name+" errors")
	}
	body = nil
	for _, r := range rows {
		line := []string{r.name}
		for _, t := range targets {
			res := r.res[t.name]
			line = append(line, ms(res.p50), ms(res.p99), fmt.Sprint(res.errs))
		}
		body = append(body, line)
	}
	fmt.Fprintln(w, "\nLatency per operation (LIST: one full paginated listing):")
	table(w, cfg.markdown, head, body)

	for _, r := range rows {
		if r.kind == "LIST" {
			fmt.Fprintln(w)
			for _, t := range targets {
				res := r.res[t.name]
				per := "-"
				if res.ops > 0 {
					per = ms(time.Duration(float64(res.elapsed) / res.ops))
				}
				fmt.Fprintf(w, "%s, %s: %s per listing, %s keys/s\n", r.name, t.name, per,
					num(res.items/res.elapsed.Seconds()))
			}
		}
		for _, t := range targets {
			if res := r.res[t.name]; res.errs > 0 {
				fmt.Fprintf(w, "%s, %s: %d errors, first: %v\n", r.name, t.name, res.errs, res.firstEr)
			}
		}
	}
	fmt.Fprintf(w, "\nload average at end: %s\n", loadAvg())
}

func table(w io.Writer, markdown bool, head []string, body [][]string) {
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

// ratio is insitu/minio by operations per second (for PUT and GET the same
// as by MiB/s); rows under 0.8x are flagged.
func ratio(a, b result) string {
	if b.ops == 0 {
		return "-"
	}
	r := a.opsPerSec() / b.opsPerSec()
	s := fmt.Sprintf("%.2fx", r)
	if r < 0.8 {
		s += " (<0.8)"
	}
	return s
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
