package e2e

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const (
	lcBucket  = "lcrash"
	lcExpired = 2500 // keys under exp/, two versions each
	lcKept    = 200  // keys under keep/
)

// TestLifecycleCrash SIGKILLs the real binary in the middle of a
// lifecycle pass over a bucket with versioning (a Date rule expiring every
// current object under exp/), restarts it, and checks that the pass
// resumes and ends with a delete marker in front of every exp/ key and
// nothing lost: both versions of every exp/ key still read back by id,
// every keep/ object is untouched.
func TestLifecycleCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	srv := startServer(t, serverOpts{Args: []string{"--lifecycle-interval", "200ms"}})
	ctx := context.Background()
	c := sdkClient(srv)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(lcBucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(lcBucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	versions := fillLifecycleBucket(t, c)
	rule := types.LifecycleRule{Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("exp/")},
		Expiration: &types.LifecycleExpiration{Date: aws.Time(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))}}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(lcBucket),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{rule}}}); err != nil {
		t.Fatal(err)
	}
	// Kill once the pass has expired some, but not all, of exp/.
	deadline := time.Now().Add(2 * time.Minute)
	n := 0
	for ; n == 0; n = lifecycleMetric(t, srv, "insitu_lifecycle_expired_objects_total") {
		if time.Now().After(deadline) {
			t.Fatal("no lifecycle pass expired anything in 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Kill()
	if n >= lcExpired {
		t.Fatalf("the pass had expired all %d keys before the kill: not a cut pass", n)
	}
	t.Logf("killed after %d of %d expirations", n, lcExpired)
	srv.Start()
	c = sdkClient(srv)
	waitExpired(t, c)
	t.Logf("after the restart, the resumed pass expired %d", lifecycleMetric(t, srv, "insitu_lifecycle_expired_objects_total"))
	checkLifecycleVersions(t, c, versions)
}

// fillLifecycleBucket writes two versions of every exp/ key and one
// object per keep/ key (8 writers) and returns the version ids by key.
func fillLifecycleBucket(t *testing.T, c *s3.Client) map[string][]string {
	t.Helper()
	var mu sync.Mutex
	versions := map[string][]string{}
	jobs := make(chan string)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range jobs {
				for v := range 2 {
					if strings.HasPrefix(key, "keep/") && v > 0 {
						break
					}
					out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(lcBucket), Key: aws.String(key),
						Body: strings.NewReader(fmt.Sprintf("%s v%d", key, v))})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					versions[key] = append(versions[key], aws.ToString(out.VersionId))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range lcExpired + lcKept {
		key := fmt.Sprintf("exp/%05d", i)
		if i >= lcExpired {
			key = fmt.Sprintf("keep/%05d", i)
		}
		jobs <- key
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return versions
}

var metricLine = regexp.MustCompile(`(?m)^(\S+) (\S+)$`)

// lifecycleMetric reads one counter from the node's /metrics (0 when absent).
func lifecycleMetric(t *testing.T, srv *server, name string) int {
	t.Helper()
	resp, err := srv.HTTPClient().Get(srv.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range metricLine.FindAllStringSubmatch(string(b), -1) {
		if m[1] == name {
			f, _ := strconv.ParseFloat(m[2], 64)
			return int(f)
		}
	}
	return 0
}

// waitExpired waits (2 minutes at most) until no current object is left
// under exp/.
func waitExpired(t *testing.T, c *s3.Client) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(lcBucket), Prefix: aws.String("exp/"), MaxKeys: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.KeyCount) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("exp/ still has current objects after the restart (first: %s)", aws.ToString(out.Contents[0].Key))
		}
	}
}

// checkLifecycleVersions lists every version: each exp/ key must hold
// exactly its two versions behind one delete marker, each keep/ key its
// one version as the latest; a sample of versions reads back by id.
func checkLifecycleVersions(t *testing.T, c *s3.Client, versions map[string][]string) {
	t.Helper()
	ctx := context.Background()
	markers, kept := map[string]int{}, map[string][]string{}
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(lcBucket)}
	for {
		out, err := c.ListObjectVersions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.DeleteMarkers {
			markers[aws.ToString(m.Key)]++
			if !aws.ToBool(m.IsLatest) {
				t.Fatalf("a delete marker of %s is not the latest", aws.ToString(m.Key))
			}
		}
		for _, v := range out.Versions {
			kept[aws.ToString(v.Key)] = append(kept[aws.ToString(v.Key)], aws.ToString(v.VersionId))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	for key, ids := range versions {
		wantMarkers := 1
		if strings.HasPrefix(key, "keep/") {
			wantMarkers = 0
		}
		if markers[key] != wantMarkers || len(kept[key]) != len(ids) {
			t.Fatalf("%s: %d markers and versions %v, want %d markers and versions %v", key, markers[key], kept[key], wantMarkers, ids)
		}
	}
	for i := 0; i < lcExpired+lcKept; i += 97 {
		key := fmt.Sprintf("exp/%05d", i)
		if i >= lcExpired {
			key = fmt.Sprintf("keep/%05d", i)
		}
		for v, id := range versions[key] {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(lcBucket), Key: aws.String(key), VersionId: aws.String(id)})
			if err != nil {
				t.Fatalf("%s version %s: %v", key, id, err)
			}
			b, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if want := fmt.Sprintf("%s v%d", key, v); string(b) != want {
				t.Fatalf("%s version %s reads %q, want %q", key, id, b, want)
			}
		}
	}
}
