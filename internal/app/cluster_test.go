package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/miekg/dns"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// body is the deterministic content of object i, version v.
func body(i, v int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("object %d version %d;", i, v)), 1+i%50)
}

func putObj(t *testing.T, c *s3.Client, bucket, key string, b []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(b)}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func getObj(c *s3.Client, bucket, key string) ([]byte, error) {
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// checkAll reads every object of want through c, byte for byte.
func checkAll(t *testing.T, c *s3.Client, bucket string, want map[string][]byte) {
	t.Helper()
	for k, b := range want {
		got, err := getObj(c, bucket, k)
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("get %s: %d bytes, want %d (%q...)", k, len(got), len(b), got[:min(len(got), 30)])
		}
	}
}

// Four nodes in zones a, b, c, c with 2 replicas: objects written through
// one node read back through the others, each held in two zones; a node
// stops, writes go on, repair restores two copies; a second node stops
// and every acknowledged object still reads back.
func TestClusterReplicatesAndRepairs(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c", "c"}, Replicas: 2})
	ctx := context.Background()
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range 120 {
		k := fmt.Sprintf("k/%03d", i)
		want[k] = body(i, 0)
		putObj(t, s0, "data", k, want[k])
	}
	for i := 1; i < 4; i++ {
		checkAll(t, cl.Nodes[i].S3("", ""), "data", want)
	}
	checkSpread(t, cl, 1, "data", want, 2)
	checkList(t, cl.Nodes[2].S3("", ""), "data", want)

	cl.Nodes[3].Stop()
	cl.Wait(time.Minute, "node3 down", func(st *client.ClusterStatus) bool { return stateOf(st, "node3") == "down" })
	s1 := cl.Nodes[1].S3("", "")
	for i := 100; i < 160; i++ { // overwrite some, add some
		k := fmt.Sprintf("k/%03d", i)
		want[k] = body(i, 1)
		putObj(t, s1, "data", k, want[k])
	}
	checkAll(t, cl.Nodes[0].S3("", ""), "data", want)
	waitRepaired(t, cl, time.Now())
	checkSpread(t, cl, 0, "data", want, 2)
	_, metrics := get(t, cl.Nodes[0].HTTPClient(), cl.Nodes[0].Endpoint()+"/metrics")
	for _, m := range []string{`insitu_cluster_nodes{state="down"} 1`, "insitu_cluster_under_replicated 0", "insitu_cluster_repair_passes_total"} {
		if !strings.Contains(metrics, m) {
			t.Fatalf("/metrics lacks %q", m)
		}
	}

	cl.Nodes[2].Stop()
	cl.Wait(time.Minute, "node2 down", func(st *client.ClusterStatus) bool { return stateOf(st, "node2") == "down" })
	checkAll(t, cl.Nodes[0].S3("", ""), "data", want)
	checkAll(t, cl.Nodes[1].S3("", ""), "data", want)
	checkList(t, cl.Nodes[1].S3("", ""), "data", want)
}

func stateOf(st *client.ClusterStatus, name string) string {
	for _, n := range st.Nodes {
		if n.Name == name {
			return n.State
		}
	}
	return ""
}

// waitRepaired waits for every up node to finish a repair pass started
// after since, with nothing left under-replicated.
func waitRepaired(t *testing.T, cl *apptest.Cluster, since time.Time) {
	t.Helper()
	cl.Wait(2*time.Minute, "under_replicated 0 after a full pass", func(st *client.ClusterStatus) bool {
		for _, n := range st.Nodes {
			if n.State == "up" && n.Repair.LastPass.Before(since.Add(3*time.Second)) {
				return false
			}
		}
		return st.UnderReplicated == 0
	})
}

// checkSpread asks node i where each object is and checks it has copies
// copies on distinct nodes in distinct zones (when there are enough). A
// node the others suspected for a moment (a loaded test machine) may
// leave an extra copy that repair drops a pass later, so the spread is
// awaited for up to 30 seconds, not read once.
func checkSpread(t *testing.T, cl *apptest.Cluster, i int, bucket string, want map[string][]byte, copies int) {
	t.Helper()
	zones := map[string]string{}
	for _, n := range cl.Status(i).Nodes {
		zones[n.Name] = n.Zone
	}
	api := cl.API(i)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := spreadErr(api, zones, bucket, want, copies)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// spreadErr describes the first object of want not held by copies nodes
// in as many zones, or nil.
func spreadErr(api *client.Client, zones map[string]string, bucket string, want map[string][]byte, copies int) error {
	for k := range want {
		names, err := api.Replicas(context.Background(), bucket, k)
		if err != nil {
			return fmt.Errorf("replicas of %s: %w", k, err)
		}
		zs := map[string]bool{}
		for _, n := range names {
			zs[zones[n]] = true
		}
		if len(names) != copies || len(zs) != copies {
			return fmt.Errorf("%s is held by %v (zones %v), want %d copies in distinct zones", k, names, zs, copies)
		}
	}
	return nil
}

// checkList lists the bucket in small pages and compares with want.
func checkList(t *testing.T, c *s3.Client, bucket string, want map[string][]byte) {
	t.Helper()
	var got []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, MaxKeys: aws.Int32(37)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			got = append(got, *o.Key)
			if *o.Size != int64(len(want[*o.Key])) {
				t.Fatalf("list: %s size %d, want %d", *o.Key, *o.Size, len(want[*o.Key]))
			}
		}
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Fatalf("list: %d keys, want %d", len(got), len(keys))
	}
}

// Deletes, multipart uploads and copies work through any node, and a
// delete wins over the older write everywhere.
func TestClusterDeleteMultipartCopy(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 2})
	ctx := context.Background()
	s0, s1, s2 := cl.Nodes[0].S3("", ""), cl.Nodes[1].S3("", ""), cl.Nodes[2].S3("", "")
	if _, err := s1.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mpu")}); err != nil {
		t.Fatal(err)
	}
	putObj(t, s0, "mpu", "gone", []byte("soon deleted"))
	if _, err := s2.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("mpu"), Key: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*s3.Client{s0, s1, s2} {
		if _, err := getObj(c, "mpu", "gone"); !isNoSuchKey(err) {
			t.Fatalf("deleted object: %v", err)
		}
	}
	// multipart: created on node 0, parts through 1 and 2, completed on 1
	up, err := s0.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := bytes.Repeat([]byte("1"), 5<<20), []byte("tail")
	var parts []types.CompletedPart
	for i, c := range []*s3.Client{s1, s2} {
		b := [][]byte{p1, p2}[i]
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(b)})
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	lu, err := s2.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpu")})
	if err != nil || len(lu.Uploads) != 1 || *lu.Uploads[0].UploadId != *up.UploadId {
		t.Fatalf("list uploads through another node: %v %+v", err, lu)
	}
	done, err := s1.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	whole := append(append([]byte{}, p1...), p2...)
	for _, c := range []*s3.Client{s0, s1, s2} {
		if got, err := getObj(c, "mpu", "big"); err != nil || !bytes.Equal(got, whole) {
			t.Fatalf("multipart object: %v (%d bytes)", err, len(got))
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big")})
		if err != nil || *h.ETag != *done.ETag {
			t.Fatalf("multipart ETag: %v %v want %v", err, h.ETag, *done.ETag)
		}
	}
	checkSpread(t, cl, 2, "mpu", map[string][]byte{"big": nil}, 2)
	if _, err := s2.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("mpu"), Key: aws.String("copy"), CopySource: aws.String("mpu/big")}); err != nil {
		t.Fatal(err)
	}
	if got, err := getObj(s0, "mpu", "copy"); err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("copy: %v", err)
	}
	// a bucket with objects cannot go; emptied, it goes everywhere
	if _, err := s0.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("mpu")}); err == nil {
		t.Fatal("deleted a bucket holding objects")
	}
	for _, k := range []string{"big", "copy"} {
		if _, err := s1.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("mpu"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s0.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("mpu")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("mpu")}); err == nil {
		t.Fatal("bucket still there through another node")
	}
}

func isNoSuchKey(err error) bool {
	var nk *types.NoSuchKey
	return errors.As(err, &nk)
}

// A node that dies (its listener gone, its lease not yet expired) must
// not fail the writes placed on it: the first refused connection takes
// it out of placement, so the next attempt goes to live nodes.
func TestClusterWritesRightAfterANodeDies(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c", "c"}, Replicas: 2})
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("wdie")}); err != nil {
		t.Fatal(err)
	}
	cl.Nodes[3].Stop()
	want := map[string][]byte{}
	for i := range 40 {
		k := fmt.Sprintf("k/%03d", i)
		want[k] = body(i, 0)
		putObj(t, s0, "wdie", k, want[k])
	}
	checkAll(t, cl.Nodes[1].S3("", ""), "wdie", want)
}

// The control plane is shared: an account made through one node signs on
// another, an app pushed through one node runs through another (its
// module fetched by digest), and a removal through one node is seen by
// the others' caches.
func TestClusterSharedControlPlane(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}, Replicas: 2,
		Configure: func(i int, cfg *app.Config) { cfg.DNS = "127.0.0.1:0" }})
	ctx := context.Background()
	checkDNS(t, cl.Nodes[1].DNSAddr(), cl)
	// No user key, root's included, reaches an internal endpoint.
	for _, sign := range []bool{false, true} {
		req, _ := http.NewRequest("POST", cl.Nodes[1].Endpoint()+"/_cluster/v1/lookup", strings.NewReader(`{"bucket":"b","keys":["k"]}`))
		if sign {
			signRaw(t, cl.Nodes[1], req, []byte(`{"bucket":"b","keys":["k"]}`))
		}
		resp, body := get2(t, req)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("internal endpoint with a user signature (%v): %d %s", sign, resp.StatusCode, body)
		}
	}
	root0, root1 := cl.API(0), cl.API(1)
	key, err := root0.CreateUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	alice1 := cl.Nodes[1].S3(key.AccessKey, key.SecretKey)
	if _, err := alice1.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alice-data")}); err != nil {
		t.Fatalf("a key made through node0 on node1: %v", err)
	}
	putObj(t, alice1, "alice-data", "doc.txt", []byte("one two three\n"))
	if _, err := root0.PushApp(ctx, "wc", "1", exampleWasm(t, "wc"), nil, true); err != nil {
		t.Fatal(err)
	}
	aliceAPI, err := client.New(client.Config{Endpoint: cl.Nodes[1].Endpoint(), AccessKey: key.AccessKey, SecretKey: key.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	rec, err := aliceAPI.Run(ctx, client.RunSpec{App: "root/wc:1", Stdin: "s3://alice-data/doc.txt"}, &out, &errb)
	if err != nil || !bytes.Contains(out.Bytes(), []byte("3")) {
		t.Fatalf("run through node1 of an app pushed through node0: %v %q %q", err, out.String(), errb.String())
	}
	if rec.Node == "" {
		t.Fatalf("run record names no node: %+v", rec)
	}
	if _, err := root1.GetApp(ctx, "root", "wc", "1"); err != nil {
		t.Fatal(err) // cached on node1 now
	}
	if err := root0.RemoveApp(ctx, "wc", "1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := root1.GetApp(ctx, "root", "wc", "1")
		if client.IsCode(err, "NoSuchApp") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node1 still serves an app removed through node0: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A lost etcd voter is replaced by a live node, so the cluster survives
// losing voters one after another: node1 (a voter) stops, node3 (a
// client) becomes a member in its place, then node2 (another voter)
// stops and the cluster still serves through node0 and node3.
func TestClusterReplacesLostVoter(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c", "a"}, Replicas: 2})
	ctx := context.Background()
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("votes")}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range 20 {
		k := fmt.Sprintf("v/%d", i)
		want[k] = body(i, 0)
		putObj(t, s0, "votes", k, want[k])
	}
	members := func(st *client.ClusterStatus) []string {
		var names []string
		for _, m := range st.Etcd {
			names = append(names, m.Name)
		}
		slices.Sort(names)
		return names
	}
	if got := members(cl.Status(0)); !slices.Equal(got, []string{"node0", "node1", "node2"}) {
		t.Fatalf("etcd members %v, want node0-2", got)
	}
	cl.Nodes[1].Stop()
	cl.Wait(2*time.Minute, "node3 replacing node1 as a voter", func(st *client.ClusterStatus) bool {
		return slices.Equal(members(st), []string{"node0", "node2", "node3"})
	})
	waitRepaired(t, cl, time.Now())
	cl.Nodes[2].Stop()
	cl.Wait(time.Minute, "node2 down", func(st *client.ClusterStatus) bool { return stateOf(st, "node2") == "down" })
	s3c := cl.Nodes[3].S3("", "")
	putObj(t, s3c, "votes", "after", []byte("written with two voters of three"))
	want["after"] = []byte("written with two voters of three")
	checkAll(t, s0, "votes", want)
	checkAll(t, s3c, "votes", want)
}

// checkDNS asks a node's DNS face for every node by name and for the SRV
// set of all nodes.
func checkDNS(t *testing.T, addr string, cl *apptest.Cluster) {
	t.Helper()
	c := new(dns.Client)
	ask := func(name string, qt uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qt)
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			t.Fatalf("dns %s: %v", name, err)
		}
		return r
	}
	for i, n := range cl.Nodes {
		r := ask(fmt.Sprintf("node%d.node.insitu.", i), dns.TypeA)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String()+":"+fmt.Sprint(portOf(n.Addr())) != n.Addr() {
			t.Fatalf("node%d A: %v (node at %s)", i, r.Answer, n.Addr())
		}
	}
	if r := ask("_insitu._tcp.node.insitu.", dns.TypeSRV); len(r.Answer) != len(cl.Nodes) {
		t.Fatalf("SRV: %v", r.Answer)
	}
	if r := ask("nosuch.node.insitu.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Fatalf("unknown node: rcode %d", r.Rcode)
	}
}

func get2(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func portOf(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

// Draining a node moves every object off it (two copies stay, on the
// other nodes) and keeps them readable; placement no longer chooses it.
func TestClusterDrain(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 2})
	ctx := context.Background()
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drain")}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range 40 {
		k := fmt.Sprintf("d/%02d", i)
		want[k] = body(i, 0)
		putObj(t, s0, "drain", k, want[k])
	}
	if err := cl.API(1).DrainNode(ctx, "node2", true); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	cl.Wait(2*time.Minute, "node2 emptied", func(st *client.ClusterStatus) bool {
		for _, n := range st.Nodes {
			if n.Name == "node2" && (n.State != "draining" || n.Repair.Objects != 0 || n.Repair.LastPass.Before(since)) {
				return false
			}
		}
		return true
	})
	checkAll(t, cl.Nodes[2].S3("", ""), "drain", want)
	api := cl.API(0)
	for k := range want {
		names, err := api.Replicas(ctx, "drain", k)
		if err != nil || len(names) != 2 || slices.Contains(names, "node2") {
			t.Fatalf("%s after draining node2: %v %v", k, names, err)
		}
	}
}

// Concurrent writers to one key through different nodes converge on one
// winner: afterwards every node reads the same bytes, which are one of
// the writes.
func TestClusterConcurrentWritersConverge(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 3})
	ctx := context.Background()
	if _, err := cl.Nodes[0].S3("", "").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("race")}); err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 3 {
		c := cl.Nodes[w].S3("", "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				b := fmt.Sprintf("writer %d write %d", w, i)
				key := fmt.Sprintf("k%d", i%3)
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("race"), Key: &key, Body: strings.NewReader(b)}); err != nil {
					t.Errorf("put: %v", err)
				}
				mu.Lock()
				written[b] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := range 3 {
		key := fmt.Sprintf("k%d", i)
		var first []byte
		for n := range 3 {
			got, err := getObj(cl.Nodes[n].S3("", ""), "race", key)
			if err != nil {
				t.Fatal(err)
			}
			if !written[string(got)] {
				t.Fatalf("%s reads %q, which nobody wrote", key, got)
			}
			if n == 0 {
				first = got
			} else if !bytes.Equal(got, first) {
				t.Fatalf("%s: node0 reads %q, node%d reads %q", key, first, n, got)
			}
		}
		// Every write was acknowledged at a write quorum; a replica that
		// missed the winner (a write that failed on it under load) gets it
		// from repair.
		deadline := time.Now().Add(time.Minute)
		for {
			names, err := cl.API(0).Replicas(ctx, "race", key)
			if err == nil && len(names) == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d nodes hold the winning version a minute on, want 3: %v %v", key, len(names), names, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if got, err := getObj(cl.Nodes[2].S3("", ""), "race", key); err != nil || !bytes.Equal(got, first) {
			t.Fatalf("%s: node2 reads %q after repair, want %q (%v)", key, got, first, err)
		}
	}
}

// Service requests run on any node with room: with node0's only sandbox
// worker held by a sleeping request, the next request sent to node0 runs
// on node1 (node1's counters show it).
func TestClusterServiceRunsWhereThereIsRoom(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}, Replicas: 2,
		Configure: func(i int, cfg *app.Config) { cfg.SandboxWorkers = 1 }})
	ctx := context.Background()
	_, file, _, _ := runtime.Caller(0)
	wasm, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "services", "testdata", "cgitool.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	root := cl.API(0)
	if _, err := root.PushApp(ctx, "tool", "1", wasm, nil, false); err != nil {
		t.Fatal(err)
	}
	pub := true
	if _, err := root.CreateService(ctx, "tool", client.ServiceSpec{App: "tool:1", Public: &pub, Timeout: "20s"}); err != nil {
		t.Fatal(err)
	}
	base := cl.Nodes[0].Endpoint() + "/svc/tool/"
	go func() { // holds node0's worker until its timeout
		if resp, err := http.Get(base + "?sleep"); err == nil {
			resp.Body.Close()
		}
	}()
	// node0's view (what it routes by) must show its own slot in use and
	// node1's free one: a node that just joined is seen with its slots
	// within a heartbeat and a view refresh (about a second each).
	cl.Wait(30*time.Second, "node0's slot in use and node1's free", func(st *client.ClusterStatus) bool {
		busy, free := false, false
		for _, n := range st.Nodes {
			switch n.Name {
			case "node0":
				busy = n.Usage.Slots > 0 && n.Usage.SlotsUsed >= n.Usage.Slots
			case "node1":
				free = n.Usage.SlotsUsed < n.Usage.Slots
			}
		}
		return busy && free
	})
	resp, body := get(t, http.DefaultClient, base+"?counter")
	if resp.StatusCode != 200 || body != "1\n" {
		t.Fatalf("second request: %d %q", resp.StatusCode, body)
	}
	st, err := cl.API(1).ServiceStats(ctx, "tool")
	if err != nil || st.Requests < 1 {
		t.Fatalf("node1 served no request of the service: %+v %v", st, err)
	}
}
