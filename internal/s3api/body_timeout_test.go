package s3api_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

const testBodyWindow = time.Second

// slowPut sends a signed PUT of size bytes over a raw connection, writing
// the body with send, and returns the response and the connection.
func slowPut(t *testing.T, node *apptest.Node, key string, size int64, send func(w io.Writer)) (*http.Response, net.Conn) {
	t.Helper()
	return slowSend(t, node, http.MethodPut, "/slow/"+key, size, send)
}

// slowSend is slowPut for any method and path.
func slowSend(t *testing.T, node *apptest.Node, method, path string, size int64, send func(w io.Writer)) (*http.Response, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", node.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(method, node.Endpoint()+path, pr)
	req.ContentLength = size
	req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: node.AccessKey, SecretAccessKey: node.SecretKey},
		req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	go func() { _ = req.Write(conn) }()
	go func() { send(pw) /* then stall: never close pw */ }()
	_ = conn.SetReadDeadline(time.Now().Add(20 * testBodyWindow))
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	return resp, conn
}

// TestBodyTimeout pins issue 8 item 4: a body that trickles or stalls is
// cut within the window (S3 RequestTimeout, connection closed, nothing
// stored), while a slow but moving upload completes.
func TestBodyTimeout(t *testing.T) {
	node := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) { c.BodyTimeout = testBodyWindow }})
	ctx := context.Background()
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	cut := map[string]func(w io.Writer){
		"trickle": func(w io.Writer) {
			for range 100 {
				if _, err := w.Write([]byte("x")); err != nil {
					return
				}
				time.Sleep(300 * time.Millisecond)
			}
		},
		"stall": func(w io.Writer) { _, _ = w.Write([]byte("12345")) },
	}
	for name, send := range cut {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			resp, conn := slowPut(t, node, name, 100, send)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if took := time.Since(start); took > 3*testBodyWindow {
				t.Errorf("answered after %v", took)
			}
			if resp.StatusCode != 400 || !bytes.Contains(b, []byte("<Code>RequestTimeout</Code>")) {
				t.Fatalf("got %s %s", resp.Status, b)
			}
			_ = conn.SetReadDeadline(time.Now().Add(3 * testBodyWindow))
			if n, err := conn.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("connection still open after the error: %d %v", n, err)
			}
			if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("slow"), Key: aws.String(name)}); err == nil {
				t.Error("a cut upload was stored")
			}
		})
	}
	t.Run("native API", func(t *testing.T) {
		start := time.Now()
		resp, conn := slowSend(t, node, http.MethodPost, "/api/v1/admin/users", 100, cut["stall"])
		resp.Body.Close()
		if took := time.Since(start); took > 3*testBodyWindow || resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("got %s after %v", resp.Status, took)
		}
		_ = conn.SetReadDeadline(time.Now().Add(3 * testBodyWindow))
		if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("connection still open after the error: %v", err)
		}
	})
	t.Run("slow but moving", func(t *testing.T) {
		const piece, pieces = 16 << 10, 24 // 384 KiB at 160 KiB/s: 2.4 windows
		resp, _ := slowPut(t, node, "moving", piece*pieces, func(w io.Writer) {
			for range pieces {
				_, _ = w.Write(bytes.Repeat([]byte("m"), piece))
				time.Sleep(100 * time.Millisecond)
			}
		})
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("slow upload: %s", resp.Status)
		}
	})
}

// TestResponseTimeout pins issue 8 item 4 for responses: a client that
// stops reading a large GET has its connection cut within the window.
func TestResponseTimeout(t *testing.T) {
	node := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) { c.BodyTimeout = testBodyWindow }})
	ctx := context.Background()
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("slow"), Key: aws.String("big"),
		Body: bytes.NewReader(make([]byte, size))}); err != nil {
		t.Fatal(err)
	}
	get, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("slow"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := node.HTTPClient().Get(get.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.Sleep(4 * testBodyWindow) // read nothing
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil || n >= size {
		t.Fatalf("a stalled reader got the whole body (%d bytes, %v)", n, err)
	}
	if !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Logf("cut with: %v", err)
	}
}
