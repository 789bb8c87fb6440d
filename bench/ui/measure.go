package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/benchnode"
)

// row is one page's timings.
type row struct {
	page, path    string
	p50, p90, max time.Duration
	bytes         int
}

// pages are the pages timed, with what each shows.
func pages(w world) [][2]string {
	deep := base64.RawURLEncoding.EncodeToString([]byte(objKey(90_000)))
	return [][2]string{
		{"overview (with recent failures, last hour)", "/ui/"},
		{"buckets", "/ui/buckets"},
		{"objects, first page", "/ui/b/" + bigBucket + "/"},
		{"objects, deep page", "/ui/b/" + bigBucket + "/?token=" + deep},
		{"objects, a prefix of 1,000 keys", "/ui/b/" + bigBucket + "/?prefix=key-090"},
		{"object (preview, open-with lookup)", "/ui/b/" + bigBucket + "/object?key=" + objKey(50_000)},
		{"apps", "/ui/apps"},
		{"runs", "/ui/runs"},
		{"runs, status=failed", "/ui/runs?status=failed"},
		{"runs, app that matches none (1,000 read)", "/ui/runs?app=none"},
		{"run detail", "/ui/runs/" + w.runID},
		{"jobs", "/ui/jobs"},
		{"job detail", "/ui/jobs/" + w.jobID},
		{"services", "/ui/services"},
		{"service detail", "/ui/services/" + w.service},
	}
}

// measure signs in and loads each page 3 times untimed, then reps times.
func measure(ctx context.Context, n *benchnode.Node, w world, reps int) ([]row, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"access_key": {n.AccessKey}, "secret_key": {n.SecretKey}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, n.Endpoint+"/ui/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in: %d", resp.StatusCode)
	}
	var rows []row
	for _, p := range pages(w) {
		r := row{page: p[0], path: p[1]}
		var times []time.Duration
		for i := range reps + 3 {
			t0 := time.Now()
			size, err := load(ctx, hc, n.Endpoint+p[1])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p[0], err)
			}
			if i >= 3 {
				times = append(times, time.Since(t0))
			}
			r.bytes = size
		}
		slices.Sort(times)
		r.p50, r.p90, r.max = times[len(times)/2], times[len(times)*9/10], times[len(times)-1]
		rows = append(rows, r)
	}
	return rows, nil
}

// load GETs a page whole and checks it answered 200.
func load(ctx context.Context, hc *http.Client, u string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return len(b), err
}

func report(out io.Writer, cfg *config, rows []row) {
	host, _ := os.Hostname()
	fmt.Fprintf(out, "Dashboard page times: %d objects, %d run records; %d loads a page; %s, %d CPUs, %s\n\n",
		cfg.objects, cfg.runs, cfg.reps, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), host)
	fmt.Fprintln(out, "| page | p50 | p90 | max | p50 / goal | size |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		flag := ""
		if r.p50 > cfg.goal {
			flag = " (over)"
		}
		fmt.Fprintf(out, "| %s | %.1f ms | %.1f ms | %.1f ms | %.2f%s | %d KiB |\n", r.page, ms(r.p50), ms(r.p90), ms(r.max),
			float64(r.p50)/float64(cfg.goal), flag, r.bytes>>10)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
