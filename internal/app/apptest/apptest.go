// Package apptest starts real insitu nodes in-process for tests, over HTTP
// or TLS, on 127.0.0.1 with a free port and a temporary data directory, and
// builds real clients (aws-sdk-go-v2, minio-go) pointed at them.
package apptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/instances"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/services"
)

// Options select how a test node runs.
type Options struct {
	TLS     bool
	DataDir string // default: t.TempDir()
	// Logger defaults to discarding; set INSITU_TEST_LOG=1 to see logs.
	Logger *slog.Logger
	// Configure, when set, adjusts the node's configuration last.
	Configure func(*app.Config)
}

// Node is a running test node.
type Node struct {
	*app.Node
	AccessKey, SecretKey string
	DataDir              string
	Region               string         // the node's region, which clients sign with
	CertPool             *x509.CertPool // non-nil with TLS
	CertFile             string
	cancel               context.CancelFunc
	done                 chan error
}

// Start runs a node until the test ends. The test package's TestMain must
// call Main.
func Start(t testing.TB, opts Options) *Node {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	logger := opts.Logger
	if logger == nil {
		if os.Getenv("INSITU_TEST_LOG") != "" {
			logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		} else {
			logger = slog.New(slog.DiscardHandler)
		}
	}
	cfg := app.DefaultConfig()
	cfg.DataDir = opts.DataDir
	cfg.Listen = "127.0.0.1:0"
	cfg.Logger = logger
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.SandboxWorkers = 2
	cfg.SandboxWorkerCommand = []string{os.Args[0]} // see Main
	tn := &Node{DataDir: opts.DataDir, done: make(chan error, 1)}
	if opts.TLS {
		cfg.TLSCert, cfg.TLSKey, tn.CertPool = SelfSignedCert(t, t.TempDir())
		tn.CertFile = cfg.TLSCert
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := app.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("apptest: start node: %v", err)
	}
	tn.Node, tn.cancel, tn.Region = n, cancel, cfg.Region
	tn.AccessKey, tn.SecretKey = n.RootKey()
	go func() { tn.done <- n.Run(ctx) }()
	t.Cleanup(tn.Stop)
	return tn
}

// Stop shuts the node down and waits for it; it is idempotent.
func (n *Node) Stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	<-n.done
}

// Kill cuts the node's connections mid-answer, as a crash looks to its
// peers, then stops it like Stop.
func (n *Node) Kill() {
	if n.cancel == nil {
		return
	}
	_ = n.Node.Abort()
	n.Stop()
}

// HTTPClient returns a client that trusts the node's certificate.
func (n *Node) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if n.CertPool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: n.CertPool}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// ConnRetryer is the retryer of tests' EC2 clients: it retries a call
// only when its connection failed (3 attempts at most, no retry quota),
// so every answer the server gave reaches the test as it was. The SDK's
// own default retryer retries these too: a connection can be closed
// under a call whose response has begun ("use of closed network
// connection" while its body is read, aws-sdk-go-v2#2737), which a test
// saw about once in 30 runs under the race detector.
func ConnRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.RateLimiter = ratelimit.None
	})
}

// S3 returns an aws-sdk-go-v2 client (path style) with the given keys;
// empty keys mean root. Extra option functions are applied last.
func (n *Node) S3(accessKey, secret string, extra ...func(*s3.Options)) *s3.Client {
	if accessKey == "" {
		accessKey, secret = n.AccessKey, n.SecretKey
	}
	opts := []func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(n.Endpoint())
		o.UsePathStyle = true
		o.Region = n.Region
		o.Credentials = credentials.NewStaticCredentialsProvider(accessKey, secret, "")
		o.HTTPClient = n.HTTPClient()
	}}
	return s3.New(s3.Options{}, append(opts, extra...)...)
}

// Minio returns a minio-go client with the given keys (empty: root).
func (n *Node) Minio(t testing.TB, accessKey, secret string, trailing bool) *minio.Client {
	t.Helper()
	if accessKey == "" {
		accessKey, secret = n.AccessKey, n.SecretKey
	}
	c, err := minio.New(n.Addr(), &minio.Options{
		Creds:           miniocreds.NewStaticV4(accessKey, secret, ""),
		Secure:          n.CertPool != nil,
		Transport:       n.HTTPClient().Transport,
		Region:          n.Region,
		BucketLookup:    minio.BucketLookupPath,
		TrailingHeaders: trailing,
	})
	if err != nil {
		t.Fatalf("apptest: minio client: %v", err)
	}
	return c
}

// SelfSignedCert writes a certificate for 127.0.0.1 and localhost into dir
// and returns the cert and key paths and a pool trusting it.
func SelfSignedCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "insitu test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost", "*.localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// MinioCreds returns minio-go credentials for the root account.
func (n *Node) MinioCreds() *miniocreds.Credentials {
	return miniocreds.NewStaticV4(n.AccessKey, n.SecretKey, "")
}

// Main is TestMain for packages that start nodes: the test binary doubles as
// the nodes' sandbox worker process (Start points SandboxWorkerCommand at
// it), so a worker re-execution runs the worker instead of the tests, and
// as the instances' metadata relay (the lifecycle runs this executable
// with "imds-relay SOCKET" for each guest connection).
func Main(m *testing.M) {
	if sandbox.IsWorkerProcess() {
		os.Exit(sandbox.WorkerMainWith(services.DirectHandler))
	}
	if len(os.Args) == 3 && os.Args[1] == "imds-relay" { // a guest's metadata connection (instances.Config.RelayCommand)
		if err := instances.Relay(context.Background(), os.Args[2], os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
