package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestExpectContinueEarlyError: a PUT sent with `Expect: 100-continue` that
// the server rejects before reading the body (here: anonymous, to a missing
// bucket, so 404 NoSuchBucket) must
// get its final response (or a 100 Continue) without the client sending
// the body. RFC 9110 15.2.1; botocore over TLS waits for that response
// indefinitely (its 60 s read timeout, times 5 attempts), so a server that
// holds the response until the body arrives hangs the aws CLI on every
// rejected upload over HTTPS.
func TestExpectContinueEarlyError(t *testing.T) {
	t.Parallel()
	cert := newTestCert(t)
	for _, tc := range []struct {
		name string
		opts serverOpts
	}{{"http", serverOpts{}}, {"https", serverOpts{TLS: cert}}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.opts)
			for _, framing := range []string{"Content-Length: 1048576", "Transfer-Encoding: chunked"} {
				conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if tc.opts.TLS != nil {
					tc := tls.Client(conn, &tls.Config{RootCAs: cert.Pool, ServerName: "127.0.0.1"})
					if err := tc.Handshake(); err != nil {
						t.Fatal(err)
					}
					conn = tc
				}
				req := fmt.Sprintf("PUT /no-such-bucket/key HTTP/1.1\r\nHost: %s\r\nExpect: 100-continue\r\n%s\r\n\r\n", srv.Addr, framing)
				if _, err := conn.Write([]byte(req)); err != nil {
					t.Fatal(err)
				}
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Errorf("%s, %s: no response within 5s while the body is held back: %v (want 403 or 100 Continue at once)",
						tc.name, framing, err)
				} else if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusContinue {
					t.Errorf("%s, %s: status %d, want 404 NoSuchBucket (or 100 Continue)", tc.name, framing, resp.StatusCode)
				}
				conn.Close()
			}
			srv.Stop()
		})
	}
}

// TestAWSCLIErrorOverTLS: `aws s3api put-object` to a missing bucket over
// HTTPS must fail promptly with NoSuchBucket (it hangs if the server holds
// its early response until it gets the body; see
// TestExpectContinueEarlyError).
func TestAWSCLIErrorOverTLS(t *testing.T) {
	t.Parallel()
	aws := needTool(t, "aws")
	cert := newTestCert(t)
	srv := startServer(t, serverOpts{TLS: cert})
	files := t.TempDir()
	path, _ := randomFile(t, files, "small.bin", 2<<10)
	env := toolEnv(t, rootAK, rootSK, "AWS_CA_BUNDLE="+cert.CAFile, "AWS_MAX_ATTEMPTS=1")
	start := time.Now()
	_, err := runTool(env, 20*time.Second, aws, "--endpoint-url", srv.Endpoint,
		"s3api", "put-object", "--bucket", "no-such-bucket", "--key", "k", "--body", path)
	switch {
	case err == nil:
		t.Errorf("put-object to a missing bucket succeeded")
	case !strings.Contains(err.Error(), "NoSuchBucket"):
		t.Errorf("put-object to a missing bucket over TLS: want NoSuchBucket promptly, got (after %v): %v",
			time.Since(start).Round(time.Millisecond), err)
	}
	srv.Stop()
}
