package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/benchnode"
	"github.com/insitu-cloud/insitu/bench/internal/s3load"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// bigBucket holds the objects; objKey names the i-th.
const bigBucket = "big"

func objKey(i int) string { return fmt.Sprintf("key-%06d", i) }

// fill creates the big bucket and writes n small objects, writers at once.
func fill(ctx context.Context, n *benchnode.Node, count, writers int) error {
	l := s3load.NewLoader(n.Endpoint, n.AccessKey, n.SecretKey, true)
	if err := l.CreateBucket(ctx, bigBucket); err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	body := []byte("a small object\n")
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < count; i = int(next.Add(1)) - 1 {
				if err := l.Put(ctx, bigBucket, objKey(i), body); err != nil {
					errs <- fmt.Errorf("put %s: %w", objKey(i), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// seedRuns writes count run records of root's straight into the control
// store of a stopped node, one in ten failed, a minute apart.
func seedRuns(ctx context.Context, controlDir string, count int) error {
	kv, err := meta.OpenLocal(controlDir)
	if err != nil {
		return err
	}
	defer kv.Close()
	start := time.Now().Add(-time.Duration(count) * time.Minute)
	batch := make([]meta.Pair, 0, meta.MaxBatch)
	for i := range count {
		rec := runs.Record{ID: runs.NewID(), Account: "root", App: "root/wc:1.0.0", Node: "local", Kind: "run",
			Start: start.Add(time.Duration(i) * time.Minute), WallMS: float64(5 + i%40), CPUMS: 3, Status: sandbox.StatusExited,
			PeakMemory: 1 << 20, StdinBytes: 100, StdoutBytes: 20}
		if i%10 == 0 {
			rec.ExitCode = 1
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		batch = append(batch, meta.Pair{Key: "runs/root/" + rec.ID, Value: b})
		if len(batch) == meta.MaxBatch || i == count-1 {
			if err := kv.PutBatch(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// world is what the pages open: a run, a job and a service.
type world struct {
	runID, jobID, service string
}

// prepare pushes wc and hello, runs wc once, runs a word count job over
// one directory of the big bucket's sibling and creates a service.
func prepare(ctx context.Context, n *benchnode.Node, root string) (world, error) {
	c, err := client.New(client.Config{Endpoint: n.Endpoint, AccessKey: n.AccessKey, SecretKey: n.SecretKey})
	if err != nil {
		return world{}, err
	}
	for name, path := range map[string]string{"wc": "examples/apps/wc/wc.wasm", "hello": "examples/services/hello/hello.wasm"} {
		wasm, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			return world{}, err
		}
		if _, err := c.PushApp(ctx, name, "1.0.0", wasm, nil, false); err != nil {
			return world{}, fmt.Errorf("push %s: %w", name, err)
		}
	}
	rec, err := c.Run(ctx, client.RunSpec{App: "wc", Stdin: "s3://" + bigBucket + "/" + objKey(0)}, io.Discard, io.Discard)
	if err != nil {
		return world{}, fmt.Errorf("run wc: %w", err)
	}
	j, err := c.SubmitJob(ctx, client.JobSpec{Inputs: []string{"s3://" + bigBucket + "/key-00000*"}, Out: "s3://" + bigBucket + "/out/",
		Phases: []client.JobPhase{{Type: "map", App: "wc"}}})
	if err != nil {
		return world{}, fmt.Errorf("submit job: %w", err)
	}
	if _, err := c.WatchJob(ctx, j.ID, nil); err != nil {
		return world{}, err
	}
	pub := true
	if _, err := c.CreateService(ctx, "hello", client.ServiceSpec{App: "hello", Public: &pub}); err != nil {
		return world{}, fmt.Errorf("create service: %w", err)
	}
	return world{runID: rec.ID, jobID: j.ID, service: "hello"}, nil
}
