package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// Of an object's copies, only the first holder's (the one that serves
// its reads) is read back into that node's page cache after a PUT; the
// other copy bypasses the cache, so a replica does not spend memory the
// node's own reads need. Fails when every holder caches its copy, and
// when none does.
func TestClusterOnlyFirstHolderCachesItsCopy(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 2})
	if testtool.IsTmpfs(t, cl.Nodes[0].DataDir) {
		t.Skip("the nodes' data lies on tmpfs, which keeps every file in memory")
	}
	ctx := context.Background()
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("warm")}); err != nil {
		t.Fatal(err)
	}
	byName := map[string]*apptest.Node{}
	for i, n := range cl.Nodes {
		byName[fmt.Sprintf("node%d", i)] = n // apptest's names
	}
	for i := range 3 {
		key := fmt.Sprintf("big-%d", i)
		data := bytes.Repeat([]byte{byte('a' + i)}, 7<<20)
		putObj(t, cl.Nodes[i].S3("", ""), "warm", key, data)
		names, err := cl.API(0).Replicas(ctx, "warm", key)
		if err != nil || len(names) != 2 {
			t.Fatalf("replicas of %s: %v %v", key, names, err)
		}
		var cached []string
		for _, name := range names {
			objects := filepath.Join(byName[name].DataDir, "store", "objects") // the local engine's data files
			if warmCopy(t, objects, int64(len(data))) {
				cached = append(cached, name)
			}
		}
		if len(cached) != 1 {
			t.Fatalf("%s is held by %v; the copies of %v are in their page cache, want exactly one", key, names, cached)
		}
	}
}

// warmCopy finds the one data file of at least size bytes under dir
// written since the test began and reports whether a quarter or more of
// it is in the page cache within 5 seconds (read-back runs after the
// write is durable); it fails the test on a copy partly cached (more than
// a tenth, less than a quarter), which neither mode leaves.
func warmCopy(t *testing.T, dir string, size int64) bool {
	t.Helper()
	path := newestFileOver(t, dir, size)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, pages := testtool.ResidentPages(t, f)
	for end := time.Now().Add(5 * time.Second); n < pages/4 && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
		n, _ = testtool.ResidentPages(t, f)
	}
	t.Logf("%s: %d of %d pages in the page cache", path, n, pages)
	if n > pages/10 && n < pages/4 {
		t.Fatalf("%s has %d of %d pages cached: neither written around the cache nor read back", path, n, pages)
	}
	return n >= pages/4
}

// newestFileOver returns the most recently modified regular file under
// dir of at least size bytes.
func newestFileOver(t *testing.T, dir string, size int64) string {
	t.Helper()
	var best string
	var bestT time.Time
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() >= size && info.ModTime().After(bestT) {
			best, bestT = p, info.ModTime()
		}
		return nil
	})
	if err != nil || best == "" {
		t.Fatalf("no file of %d bytes or more under %s: %v", size, dir, err)
	}
	return best
}
