package main

import (
	"fmt"
	"io"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
)

// goal is the bar: the 3-node cluster at least 0.8x MinIO
// distributed on every row.
const goal = 0.8

func printHeader(cfg *config, root string, targets []*target) {
	fmt.Printf("cluster: %s measured + %s warm-up per row and system; payload %s; client aws-sdk-go-v2 (checksums when_required), round-robin over each system's endpoints\n",
		cfg.duration, cfg.warmup, map[bool]string{true: "signed", false: "unsigned"}[cfg.signed])
	fmt.Printf("data under %s; insitu %s (%s)\n", root, cfg.insitu, s3load.VersionOf(cfg.insitu, "version"))
	for _, t := range targets {
		fmt.Printf("%-6s %s: %s\n", t.name, t.desc, joinNames(t.procs))
	}
	fmt.Printf("load average at start: %s\n\n", s3load.LoadAvg())
}

// ratioCols are the ratios printed when both systems ran: each cluster
// against MinIO distributed (the goal) and against one node.
var ratioCols = [][2]string{{"r2", "minio"}, {"r3", "minio"}, {"r2", "one"}, {"r3", "one"}}

// printTables prints throughput with ratios, then latencies and errors.
func printTables(w io.Writer, cfg *config, targets []*target, rows []rowResult) {
	ran := map[string]bool{}
	head := []string{"row"}
	for _, t := range targets {
		ran[t.name] = true
		head = append(head, t.name+" ops/s", t.name+" MiB/s")
	}
	for _, rc := range ratioCols {
		if ran[rc[0]] && ran[rc[1]] {
			head = append(head, rc[0]+"/"+rc[1])
		}
	}
	var body [][]string
	for _, r := range rows {
		line := []string{r.name}
		for _, t := range targets {
			res := r.res[t.name]
			line = append(line, s3load.Num(res.OpsPerSec()), s3load.Num(res.MiBPerSec()))
		}
		for _, rc := range ratioCols {
			if ran[rc[0]] && ran[rc[1]] {
				g := 0.0
				if rc[1] == "minio" {
					g = goal
				}
				line = append(line, s3load.Ratio(r.res[rc[0]], r.res[rc[1]], g))
			}
		}
		body = append(body, line)
	}
	fmt.Fprintln(w, "Throughput (ratio by ops/s; the goal is r2/minio and r3/minio >= 0.8):")
	s3load.Table(w, cfg.markdown, head, body)
	printLatency(w, cfg, targets, rows)
}

func printLatency(w io.Writer, cfg *config, targets []*target, rows []rowResult) {
	head := []string{"row"}
	for _, t := range targets {
		head = append(head, t.name+" p50", t.name+" p99", t.name+" errors")
	}
	var body [][]string
	for _, r := range rows {
		line := []string{r.name}
		for _, t := range targets {
			res := r.res[t.name]
			line = append(line, s3load.Ms(res.P50), s3load.Ms(res.P99), fmt.Sprint(res.Errs))
		}
		body = append(body, line)
	}
	fmt.Fprintln(w, "\nLatency per operation:")
	s3load.Table(w, cfg.markdown, head, body)
	printDevice(w, cfg, targets, rows)
	for _, r := range rows {
		for _, t := range targets {
			if res := r.res[t.name]; res.Errs > 0 {
				fmt.Fprintf(w, "%s, %s: %d errors, first: %v\n", r.name, t.name, res.Errs, res.FirstEr)
			}
		}
	}
	fmt.Fprintf(w, "\nload average at end: %s\n", s3load.LoadAvg())
}

// printDevice prints the bytes written to the machine's disks per
// operation of each PUT row (everything on the machine counts).
func printDevice(w io.Writer, cfg *config, targets []*target, rows []rowResult) {
	head := []string{"row"}
	for _, t := range targets {
		head = append(head, t.name+" disk MiB/op")
	}
	for _, t := range targets {
		head = append(head, t.name+" read MiB/op", t.name+" CPU ms/op")
	}
	var body [][]string
	for _, r := range rows {
		line := []string{r.name}
		for _, t := range targets {
			line = append(line, s3load.Num(r.dev[t.name]/s3load.MiB))
		}
		for _, t := range targets {
			line = append(line, s3load.Num(r.devRead[t.name]/s3load.MiB), s3load.Num(r.cpu[t.name]*1000))
		}
		body = append(body, line)
	}
	fmt.Fprintln(w, "\nDisks and CPU per operation: MiB written to and read from the machine's disks (after a sync; the whole machine counts) and CPU ms of the system's server processes (warm-up included):")
	s3load.Table(w, cfg.markdown, head, body)
}
