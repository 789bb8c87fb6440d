package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
	"github.com/insitu-cloud/insitu/internal/client"
)

const (
	accessKey     = "clusterbenchaccesskey"
	secretKey     = "clusterbenchsecretkey0123456789"
	clusterSecret = "clusterbench-cluster-secret-0123456789"
)

// target is one system under test: its processes and one load client per
// endpoint. Requests go round-robin over the clients.
type target struct {
	name    string
	desc    string
	procs   []*proc
	clients []*s3load.Loader
}

// client picks the endpoint for a worker's seq-th operation: round-robin
// over the endpoints, shifted per worker so they do not move in step.
func (t *target) client(worker, seq int) *s3load.Loader {
	return t.clients[(worker+seq)%len(t.clients)]
}

// exited returns the first of t's processes that is no longer running.
func (t *target) exited() *proc {
	for _, p := range t.procs {
		select {
		case <-p.done:
			return p
		default:
		}
	}
	return nil
}

func (t *target) stop() {
	for _, p := range t.procs {
		p.stop()
	}
}

// insituSpec describes an insitu deployment: nodes == 1 without zones is a
// plain single node; otherwise nodes in zones a, b, c, ... with replicas.
type insituSpec struct {
	name     string
	nodes    int
	replicas int
}

// startInsitu starts spec's nodes one after the other, each joining the
// first, under dir/NAME-i, and waits until the first sees all of them up.
func startInsitu(ctx context.Context, cfg *config, dir string, spec insituSpec) (*target, error) {
	t := &target{name: spec.name}
	for i := 0; i < spec.nodes; i++ {
		addr, err := freeAddr()
		if err != nil {
			return t, err
		}
		name := fmt.Sprintf("%s-%d", spec.name, i)
		args := []string{"server", "--data", filepath.Join(dir, name), "--listen", addr, "--log-level", cfg.logLevel}
		env := []string{"INSITU_ROOT_ACCESS_KEY=" + accessKey, "INSITU_ROOT_SECRET_KEY=" + secretKey}
		if spec.replicas > 0 {
			args = append(args, "--zone", string(rune('a'+i)), "--name", name)
			env = append(env, "INSITU_CLUSTER_SECRET="+clusterSecret)
			if i == 0 {
				args = append(args, "--replicas", fmt.Sprint(spec.replicas))
			} else {
				args = append(args, "--join", t.procs[0].endpoint)
			}
		}
		p, err := startProc(name, "http://"+addr, dir, cfg.insitu, args, env)
		if err != nil {
			return t, err
		}
		t.procs = append(t.procs, p)
		if err := p.waitHealthy(ctx, "/healthz"); err != nil {
			return t, err
		}
		t.clients = append(t.clients, s3load.NewLoader(p.endpoint, accessKey, secretKey, cfg.signed))
	}
	t.desc = fmt.Sprintf("insitu, %d node(s)", spec.nodes)
	if spec.replicas > 0 {
		t.desc = fmt.Sprintf("insitu cluster, %d nodes in %d zones, %d replicas", spec.nodes, spec.nodes, spec.replicas)
		if _, err := waitStatus(ctx, t.procs[0], time.Minute, "all nodes up", func(st *client.ClusterStatus) bool {
			return countUp(st) == spec.nodes
		}); err != nil {
			return t, err
		}
	}
	return t, nil
}

// startMinio starts n MinIO servers as one distributed, erasure-coded
// deployment: every process gets the same list of n endpoints
// http://127.0.0.1:PORTi/DIRi (one drive each) and serves its own.
func startMinio(ctx context.Context, cfg *config, dir string, n int) (*target, error) {
	t := &target{name: "minio"}
	addrs := make([]string, n)
	drives := make([]string, n)
	for i := range addrs {
		var err error
		if addrs[i], err = freeAddr(); err != nil {
			return t, err
		}
		d := filepath.Join(dir, fmt.Sprintf("minio-drive%d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return t, err
		}
		drives[i] = "http://" + addrs[i] + d
	}
	// All drives share the machine's root filesystem, which distributed
	// MinIO refuses unless the root-drive threshold says otherwise.
	env := []string{"MINIO_ROOT_USER=" + accessKey, "MINIO_ROOT_PASSWORD=" + secretKey, "MINIO_UPDATE=off",
		"MINIO_BROWSER=off", "MINIO_ROOTDRIVE_THRESHOLD_SIZE=1B"}
	for i, addr := range addrs {
		console, err := freeAddr()
		if err != nil {
			return t, err
		}
		args := append([]string{"server", "--address", addr, "--console-address", console, "--quiet"}, drives...)
		// In a container (/.dockerenv) MinIO will not take a loopback
		// endpoint as its own unless told which one it is.
		local := "_MINIO_SERVER_LOCAL=" + addr
		p, err := startProc(fmt.Sprintf("minio-%d", i), "http://"+addr, dir, cfg.minio, args, append(env, local))
		if err != nil {
			return t, err
		}
		t.procs = append(t.procs, p)
		t.clients = append(t.clients, s3load.NewLoader(p.endpoint, accessKey, secretKey, cfg.signed))
	}
	// The processes find each other first, so wait for all after starting all.
	for _, p := range t.procs {
		if err := p.waitHealthy(ctx, "/minio/health/cluster"); err != nil {
			return t, err
		}
	}
	t.desc = fmt.Sprintf("minio distributed, %d processes x 1 drive, erasure coded (%s)", n, s3load.VersionOf(cfg.minio, "--version"))
	return t, nil
}

// apiClient is a native API client of p as root.
func apiClient(p *proc) (*client.Client, error) {
	return client.New(client.Config{Endpoint: p.endpoint, AccessKey: accessKey, SecretKey: secretKey})
}

// waitStatus polls the cluster status through p every 50 ms until ok
// holds or timeout passes; it returns the status that satisfied ok.
func waitStatus(ctx context.Context, p *proc, timeout time.Duration, what string, ok func(*client.ClusterStatus) bool) (*client.ClusterStatus, error) {
	api, err := apiClient(p)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		st, err := api.ClusterStatus(ctx)
		if err == nil && ok(st) {
			return st, nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("waited %s for %s through %s (last error: %v)", timeout, what, p.name, last)
}

func countUp(st *client.ClusterStatus) int {
	up := 0
	for _, n := range st.Nodes {
		if n.State == "up" {
			up++
		}
	}
	return up
}

// joinNames lists the processes' names.
func joinNames(ps []*proc) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.name)
	}
	return strings.Join(s, ", ")
}
