package ui_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestClusterOverviewAndUpload: on a two-zone cluster the overview shows
// both nodes with their zones and bars and the replica count, and a
// multipart upload presigned by one node is read back through the other.
func TestClusterOverviewAndUpload(t *testing.T) {
	c := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"zone-a", "zone-b"}})
	n0 := c.Nodes[0]
	e := &env{node: n0}
	b := e.login(t, n0.AccessKey, n0.SecretKey)
	code, body := b.get("/ui/")
	if code != http.StatusOK {
		t.Fatalf("overview: %d", code)
	}
	for _, want := range []string{"node0", "node1", "zone-a", "zone-b", "Replicas: <b>2</b>", `id="under">0<`} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview lacks %q:\n%s", want, body)
		}
	}
	if n := strings.Count(body, `class="fg"`); n != 6 {
		t.Errorf("the overview draws %d bars, want 3 per node", n)
	}
	if resp := b.change("/ui/buckets", url.Values{"name": {"clustered"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create a bucket: %d %s", resp.StatusCode, bodyOf(resp))
	}
	data := make([]byte, 17<<20)
	_, _ = rand.Read(data)
	uploadThroughPresign(t, e, b, "clustered", "big.bin", data)
	out, err := c.Nodes[1].S3("", "").GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("clustered"), Key: aws.String("big.bin")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes through node1 that differ", len(got))
	}
	clusterSessions(t, c, b)
}

// clusterSessions: a session from node0 is good on node1 (they share the
// store), and a logout on node0 ends it on node1 too.
func clusterSessions(t *testing.T, c *apptest.Cluster, b *browser) {
	n0, n1 := c.Nodes[0], c.Nodes[1]
	other := &browser{t: t, base: n1.Endpoint(), c: b.c, csrf: b.csrf}
	u, _ := url.Parse(n0.Endpoint() + "/ui/")
	u1, _ := url.Parse(n1.Endpoint() + "/ui/")
	b.c.Jar.SetCookies(u1, b.c.Jar.Cookies(u))
	if code, body := other.get("/ui/buckets"); code != http.StatusOK || !strings.Contains(body, "clustered") {
		t.Fatalf("node0's session on node1: %d, want the buckets page", code)
	}
	if resp := other.change("/ui/buckets", url.Values{"name": {"made-on-node1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a change on node1 with node0's session and token: %d", resp.StatusCode)
	}
	old := b.c.Jar.Cookies(u)[0]
	if resp := b.change("/ui/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout on node0: %d", resp.StatusCode)
	}
	thief := n1.HTTPClient() // kept the cookie, no jar
	thief.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, n1.Endpoint()+"/ui/buckets", nil)
		req.AddCookie(&http.Cookie{Name: old.Name, Value: old.Value})
		resp, err := thief.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node1 still accepts the session 10 s after the logout on node0: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
