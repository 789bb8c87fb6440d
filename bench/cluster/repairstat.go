package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// repairCounters are the repair counters the nodes of an insitu cluster
// export on /metrics, summed over the nodes: the background work that
// shares the machine with a row's load (zero for MinIO).
type repairCounters struct {
	passes, copied, dropped float64
}

// repairStat reads the summed repair counters of t's processes; a process
// that does not answer or has no such metric adds nothing.
func repairStat(ctx context.Context, t *target) repairCounters {
	var sum repairCounters
	for _, p := range t.procs {
		sum.passes += metricValue(ctx, p.endpoint, "insitu_cluster_repair_passes_total")
		sum.copied += metricValue(ctx, p.endpoint, "insitu_cluster_repair_copied_total")
		sum.dropped += metricValue(ctx, p.endpoint, "insitu_cluster_repair_dropped_total")
	}
	return sum
}

func (a repairCounters) minus(b repairCounters) repairCounters {
	return repairCounters{a.passes - b.passes, a.copied - b.copied, a.dropped - b.dropped}
}

// metricValue returns the value of the unlabelled metric name on
// endpoint's /metrics, or 0.
func metricValue(ctx context.Context, endpoint, name string) float64 {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/metrics", nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}
