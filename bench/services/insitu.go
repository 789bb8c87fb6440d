package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/insitu-cloud/insitu/bench/internal/benchnode"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/client"
)

const (
	accessKey = "benchservicesroot"
	secretKey = "bench-services-secret-key-0123456789"
)

type insituServer struct {
	target
	node    *benchnode.Node
	logPath string
	api     *client.Client
}

// insitu is the running server, for the stats printed after the table.
var insitu *insituServer

// startInsitu builds (or takes) the insitu binary, starts a server on a
// fresh data directory, pushes hello.wasm and creates the public service.
func startInsitu(ctx context.Context, cfg *config, root, tmp string, direct bool) (*insituServer, error) {
	bin, err := benchnode.Build(ctx, root, tmp, cfg.insitu)
	if err != nil {
		return nil, err
	}
	dir, extra := tmp, []string(nil)
	if direct {
		dir = filepath.Join(tmp, "direct") // direct connections are on by default
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	node, err := benchnode.Start(bin, dir, accessKey, secretKey, extra...)
	if err != nil {
		return nil, err
	}
	s := &insituServer{node: node, logPath: node.LogPath}
	endpoint := node.Endpoint
	s.api, err = client.New(client.Config{Endpoint: endpoint, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		s.stop()
		return nil, err
	}
	wasm, err := os.ReadFile(filepath.Join(root, "examples", "services", "hello", "hello.wasm"))
	if err != nil {
		s.stop()
		return nil, err
	}
	if _, err := s.api.PushApp(ctx, "hello", "1", wasm, nil, false); err != nil {
		s.stop()
		return nil, fmt.Errorf("push hello: %w", err)
	}
	public := true
	// The concurrency cap is raised past the connection count so that no
	// request is turned away with 503.
	if _, err := s.api.CreateService(ctx, "hello", client.ServiceSpec{App: "hello", Public: &public, MaxConcurrency: 10000}); err != nil {
		s.stop()
		return nil, fmt.Errorf("create service: %w", err)
	}
	pid := node.Pid()
	// The server with its reaped children (a worker killed when its
	// client went away, at the end of each load) and its live workers:
	// a worker that dies in the window still counts once.
	s.target = target{name: "insitu", url: endpoint + "/svc/hello/",
		pids:    func() []int { return append([]int{-pid}, childrenOf(pid)...) },
		workers: true,
		note:    "insitu server, service hello (hello.wasm) by its path (never direct: the node's connections), public, fresh sandbox per request"}
	if direct {
		s.target.name, s.target.url, s.target.host = "insitu-direct", endpoint+"/", "hello.svc.localhost"
		s.target.note = "insitu (defaults: direct connections, two workers per CPU), service hello by its host: keep-alive connections answered by a direct worker, fresh sandbox per request"
		return s, nil
	}
	insitu = s
	return s, nil
}

func (s *insituServer) stop() { s.node.Stop() }

// printInsituStats prints the service's own view: instance run time and
// request latency as insitu measured them.
func printInsituStats(ctx context.Context) {
	if insitu == nil {
		return
	}
	st, err := insitu.api.ServiceStats(ctx, "hello")
	if err != nil {
		fmt.Printf("\ninsitu svc stats: %v\n", err)
		return
	}
	fmt.Printf("\ninsitu svc stats hello: %d requests in all; percentiles over the latest 1024, by status %v\n", st.Requests, st.ByStatus)
	fmt.Printf("  request latency ms (inside the server): %s\n", fmtMap(st.LatencyMS))
	fmt.Printf("  sandbox instance ms (start to exit):    %s\n", fmtMap(st.RunMS))
}

func fmtMap(m map[string]float64) string {
	var b bytes.Buffer
	for _, k := range []string{"p50", "p90", "p99", "max", "mean"} {
		if v, ok := m[k]; ok {
			fmt.Fprintf(&b, "%s %.3f  ", k, v)
		}
	}
	if b.Len() == 0 {
		return fmt.Sprint(m)
	}
	return strings.TrimSpace(b.String())
}

// childrenOf returns the pids whose parent is pid (insitu's sandbox
// workers).
func childrenOf(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := statFields(st)
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name
// (field 3, the state, is f[0]).
func statFields(st []byte) []string {
	i := bytes.LastIndexByte(st, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(st[i+1:]))
}

// cpuOf sums user+system CPU of pids; a negative pid also counts that
// process's reaped children (cutime+cstime).
func cpuOf(pids []int) time.Duration { return cpuFields(pids, false) }

// childCPUOf is cpuOf without the own time of negative pids: their
// reaped children's CPU only (and that of the positive pids).
func childCPUOf(pids []int) time.Duration { return cpuFields(pids, true) }

func cpuFields(pids []int, childrenOnly bool) time.Duration {
	const hz = 100 // USER_HZ on Linux
	var ticks int64
	for _, p := range pids {
		withChildren := p < 0
		if withChildren {
			p = -p
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		f := statFields(st)
		if len(f) < 15 {
			continue
		}
		// utime, stime, cutime, cstime are fields 14-17: f[11..14].
		for i, idx := range []int{11, 12, 13, 14} {
			if i >= 2 && !withChildren {
				break
			}
			if i < 2 && withChildren && childrenOnly {
				continue
			}
			n, _ := strconv.ParseInt(f[idx], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / hz
}
