package s3api_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestVirtualHostStyle sends requests to BUCKET.localhost:PORT, the way
// SDKs do without path style, and checks they reach the same bucket.
func TestVirtualHostStyle(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	_, port, _ := net.SplitHostPort(node.Addr())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, node.Addr()) // every *.localhost is this node
	}
	vc := node.S3("", "", func(o *s3.Options) {
		o.UsePathStyle = false
		o.BaseEndpoint = aws.String("http://localhost:" + port)
		o.HTTPClient = &http.Client{Transport: tr}
	})
	if _, err := vc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
		t.Fatalf("CreateBucket (virtual host): %v", err)
	}
	if _, err := vc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("metrics"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("PutObject (virtual host): %v", err)
	}
	// Path style sees the same object; a key named like an ops endpoint is
	// still a key under virtual-host style.
	out, err := node.S3("", "").GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("vhost"), Key: aws.String("metrics")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "v" {
		t.Fatalf("got %q", b)
	}
	l, err := vc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vhost")})
	if err != nil || len(l.Contents) != 1 {
		t.Fatalf("list (virtual host): %v %v", l, err)
	}
}

// TestDomainDefaultApplied pins the documented default of app.Config.Domain
// ("localhost"): a Config that leaves it empty still serves virtual-host
// style, as the doc says.
func TestDomainDefaultApplied(t *testing.T) {
	node := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) { c.Domain = "" }})
	ctx := context.Background()
	_, port, _ := net.SplitHostPort(node.Addr())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, node.Addr())
	}
	vc := node.S3("", "", func(o *s3.Options) {
		o.UsePathStyle = false
		o.BaseEndpoint = aws.String("http://localhost:" + port)
		o.HTTPClient = &http.Client{Transport: tr}
	})
	if _, err := node.S3("", "").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("dflt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("dflt"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("PutObject (virtual host, default domain): %v", err)
	}
}
