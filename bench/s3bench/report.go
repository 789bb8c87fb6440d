package main

import (
	"fmt"
	"io"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
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
				mibs = s3load.Num(res.MiBPerSec())
			}
			line = append(line, s3load.Num(res.OpsPerSec()), mibs)
		}
		if both {
			line = append(line, ratio(r.res["insitu"], r.res["minio"]))
		}
		body = append(body, line)
	}
	fmt.Fprintln(w, "Throughput (LIST: full listings per second):")
	s3load.Table(w, cfg.markdown, head, body)

	head = []string{"row"}
	for _, t := range targets {
		head = append(head, t.name+" p50", t.name+" p99", t.name+" errors")
	}
	body = nil
	for _, r := range rows {
		line := []string{r.name}
		for _, t := range targets {
			res := r.res[t.name]
			line = append(line, s3load.Ms(res.P50), s3load.Ms(res.P99), fmt.Sprint(res.Errs))
		}
		body = append(body, line)
	}
	fmt.Fprintln(w, "\nLatency per operation (LIST: one full paginated listing):")
	s3load.Table(w, cfg.markdown, head, body)

	for _, r := range rows {
		if r.kind == "LIST" {
			fmt.Fprintln(w)
			for _, t := range targets {
				res := r.res[t.name]
				per := "-"
				if res.Ops > 0 {
					per = s3load.Ms(time.Duration(float64(res.Elapsed) / res.Ops))
				}
				fmt.Fprintf(w, "%s, %s: %s per listing, %s keys/s\n", r.name, t.name, per,
					s3load.Num(res.Items/res.Elapsed.Seconds()))
			}
		}
		for _, t := range targets {
			if res := r.res[t.name]; res.Errs > 0 {
				fmt.Fprintf(w, "%s, %s: %d errors, first: %v\n", r.name, t.name, res.Errs, res.FirstEr)
			}
		}
	}
	fmt.Fprintf(w, "\nload average at end: %s\n", s3load.LoadAvg())
}

// ratio is insitu/minio by operations per second (for PUT and GET the same
// as by MiB/s); rows under 0.8x are flagged.
func ratio(a, b s3load.Result) string { return s3load.Ratio(a, b, 0.8) }
