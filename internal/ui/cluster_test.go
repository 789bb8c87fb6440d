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
	// A session lives on the node that issued it.
	other := &browser{t: t, base: c.Nodes[1].Endpoint(), c: b.c}
	u, _ := url.Parse(n0.Endpoint() + "/ui/")
	u1, _ := url.Parse(c.Nodes[1].Endpoint() + "/ui/")
	b.c.Jar.SetCookies(u1, b.c.Jar.Cookies(u))
	if code, _ := other.get("/ui/"); code != http.StatusSeeOther {
		t.Errorf("node0's session on node1: %d, want a redirect to sign in", code)
	}
}
