package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// TestProfileCluster is not a test but a profiling aid, skipped unless
// INSITU_CLUSTER_PROFILE names an output directory: it starts an
// in-process 3-node cluster with 2 replicas (INSITU_CLUSTER_PROFILE_REPLICAS), runs PUTs then GETs of
// INSITU_CLUSTER_PROFILE_SIZE objects (default 4KiB) at
// concurrency 16 round-robin over the nodes for INSITU_CLUSTER_PROFILE_FOR
// each (default 10s), and writes DIR/{put,get}.cpu.pprof and
// DIR/{put,get}.goroutines.txt (goroutine stacks sampled every 100 ms,
// counted: where the requests wait). It asserts nothing about timings.
//
//	INSITU_CLUSTER_PROFILE=/tmp/prof go test ./bench/cluster -run TestProfileCluster -v
func TestProfileCluster(t *testing.T) {
	dir := os.Getenv("INSITU_CLUSTER_PROFILE")
	if dir == "" {
		t.Skip("set INSITU_CLUSTER_PROFILE=DIR to profile an in-process cluster")
	}
	d := 10 * time.Second
	if v := os.Getenv("INSITU_CLUSTER_PROFILE_FOR"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	size := int64(4096)
	if v := os.Getenv("INSITU_CLUSTER_PROFILE_SIZE"); v != "" {
		sizes, err := s3load.ParseSizes(v)
		if err != nil {
			t.Fatal(err)
		}
		size = sizes[0]
	}
	replicas := 2
	if v := os.Getenv("INSITU_CLUSTER_PROFILE_REPLICAS"); v != "" {
		if _, err := fmt.Sscan(v, &replicas); err != nil {
			t.Fatal(err)
		}
	}
	c := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: replicas})
	var clients []*s3.Client
	for _, n := range c.Nodes {
		clients = append(clients, n.S3("", ""))
	}
	ctx := context.Background()
	if _, err := clients[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	payload := s3load.RandomBytes(size)
	var mu sync.Mutex
	var keys []string
	put := func(w, seq int) error {
		key := fmt.Sprintf("w%d-%d", w, seq)
		_, err := clients[(w+seq)%len(clients)].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(payload), ContentLength: aws.Int64(size)})
		mu.Lock()
		keys = append(keys, key)
		mu.Unlock()
		return err
	}
	get := func(w, seq int) error {
		out, err := clients[(w+seq)%len(clients)].GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[(w*7919+seq)%len(keys)])})
		if err == nil {
			out.Body.Close()
		}
		return err
	}
	profileLoad(t, dir, "put", d, put)
	profileLoad(t, dir, "get", d, get)
}

// profileLoad runs op on 16 workers for d under a CPU profile and a
// sampled goroutine profile.
func profileLoad(t *testing.T, dir, name string, d time.Duration, op func(w, seq int) error) {
	cpu, err := os.Create(fmt.Sprintf("%s/%s.cpu.pprof", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	if err := pprof.StartCPUProfile(cpu); err != nil {
		t.Fatal(err)
	}
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	var ops, errs int64
	var mu sync.Mutex
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; time.Now().Before(stop); seq++ {
				err := op(w, seq)
				mu.Lock()
				if ops++; err != nil {
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	g, err := os.Create(fmt.Sprintf("%s/%s.goroutines.txt", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for time.Now().Before(stop) {
		time.Sleep(100 * time.Millisecond)
		_ = pprof.Lookup("goroutine").WriteTo(g, 1)
	}
	wg.Wait()
	pprof.StopCPUProfile()
	t.Logf("%s: %d ops (%.0f/s), %d errors", name, ops, float64(ops)/d.Seconds(), errs)
}
