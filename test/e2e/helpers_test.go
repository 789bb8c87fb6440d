package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/testtool"
)

// Root keys handed to servers started with env credentials.
const (
	rootAK = "E2EROOTACCESSKEY0001"
	rootSK = "e2e-root-secret-key-0123456789abcdefghij"
)

// insituBin is the binary built by TestMain (or INSITU_E2E_BIN).
var insituBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("INSITU_E2E_BIN"); bin != "" {
		// A prebuilt binary instead of building ./cmd/insitu.
		insituBin = bin
		return m.Run()
	}
	root, err := testtool.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "insitu-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	insituBin = filepath.Join(dir, "insitu")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", insituBin, "./cmd/insitu")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/insitu: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// needTool returns the path of name, or skips (fails under
// INSITU_REQUIRE_TOOLS=1) when it is not installed.
func needTool(t *testing.T, name string) string {
	t.Helper()
	return testtool.Need(t, name, name)
}

// ---- the server subprocess ----

type serverOpts struct {
	// DataDir is reused across restarts; empty means a fresh temp dir.
	DataDir string
	// NoRootEnv starts the server without INSITU_ROOT_* so it generates
	// its root credentials.
	NoRootEnv bool
	// TLS serves HTTPS with a certificate made by newTestCert.
	TLS *testCert
	// Args are appended to the server command line; Env to its environment.
	Args, Env []string
	// Host is the address to listen on; default 127.0.0.1.
	Host string
	// Wrap runs the server under this command (e.g. ip netns exec NS).
	Wrap []string
}

type server struct {
	t        *testing.T
	opts     serverOpts
	Addr     string // host:port
	Endpoint string // http(s)://host:port
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	log      *syncBuffer
	starts   int
	stopped  bool
	allLogMu sync.Mutex
	allLog   bytes.Buffer // logs of every run of this server, for failures
}

// startServer starts insitu and waits until /healthz answers 200. The
// server is killed at cleanup if the test did not stop it; on failure its
// log (errors and non-2xx requests first) is printed.
func startServer(t *testing.T, opts serverOpts) *server {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(t.TempDir(), "data")
	}
	s := &server{t: t, opts: opts}
	t.Cleanup(func() {
		if !s.stopped && s.cmd != nil {
			_ = s.cmd.Process.Kill()
			<-s.done
			s.appendRunLog()
		}
		if t.Failed() {
			s.dumpLog()
		}
	})
	s.Start()
	return s
}

// Start (re)starts the server on its data directory, on a new free port.
func (s *server) Start() {
	t := s.t
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = s.startOnce(); lastErr == nil {
			return
		}
		// A lost race for the port shows as an early exit: try another.
	}
	t.Fatalf("start insitu: %v", lastErr)
}

func (s *server) startOnce() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Addr = net.JoinHostPort(cmp.Or(s.opts.Host, "127.0.0.1"), strconv.Itoa(port))
	scheme := "http"
	args := []string{"server", "--data", s.opts.DataDir, "--listen", s.Addr,
		"--region", "us-east-1", "--log-format", "json"}
	if s.opts.TLS != nil {
		scheme = "https"
		args = append(args, "--tls-cert", s.opts.TLS.CertFile, "--tls-key", s.opts.TLS.KeyFile)
	}
	s.Endpoint = scheme + "://" + s.Addr
	argv := append(append(append([]string(nil), s.opts.Wrap...), insituBin), append(args, s.opts.Args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.t.TempDir()}
	if !s.opts.NoRootEnv {
		env = append(env, "INSITU_ROOT_ACCESS_KEY="+rootAK, "INSITU_ROOT_SECRET_KEY="+rootSK)
	}
	cmd.Env = append(env, s.opts.Env...)
	s.log = &syncBuffer{}
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	s.starts++
	s.cmd, s.done, s.stopped = cmd, make(chan struct{}), false
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	client := s.HTTPClient()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.stopped = true
			s.appendRunLog()
			return fmt.Errorf("insitu exited before serving (%v):\n%s", s.waitErr, s.log.String())
		default:
		}
		resp, err := client.Get(s.Endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-s.done
	s.stopped = true
	s.appendRunLog()
	return fmt.Errorf("insitu did not answer /healthz within 20s:\n%s", s.log.String())
}

// HTTPClient trusts the test certificate when the server serves TLS.
func (s *server) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.opts.TLS != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.opts.TLS.Pool}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// Stop sends SIGTERM and requires a clean exit with status 0. It reports
// with Errorf (not Fatalf) so that it can run from a Cleanup.
func (s *server) Stop() {
	t := s.t
	t.Helper()
	if s.stopped {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.stopped = true
		s.appendRunLog()
		t.Errorf("insitu did not exit within 30s of SIGTERM")
		return
	}
	s.stopped = true
	s.appendRunLog()
	if s.waitErr != nil {
		t.Errorf("insitu exited with %v after SIGTERM, want status 0", s.waitErr)
	}
}

// Kill sends SIGKILL and waits for the process to go.
func (s *server) Kill() {
	if s.stopped {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.stopped = true
	s.appendRunLog()
}

func (s *server) appendRunLog() {
	s.allLogMu.Lock()
	defer s.allLogMu.Unlock()
	fmt.Fprintf(&s.allLog, "---- run %d (%s) ----\n", s.starts, s.Addr)
	s.allLog.WriteString(s.log.String())
}

// dumpLog prints the server's notable log lines (errors, warnings, requests
// answered 4xx/5xx) and then the tail of the whole log.
func (s *server) dumpLog() {
	s.allLogMu.Lock()
	all := s.allLog.String()
	s.allLogMu.Unlock()
	if !s.stopped {
		all += "---- current run ----\n" + s.log.String()
	}
	var notable []string
	sc := bufio.NewScanner(strings.NewReader(all))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines []string
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		var rec struct {
			Level  string `json:"level"`
			Status int    `json:"status"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec.Status >= 400 || rec.Level == "ERROR" || rec.Level == "WARN" {
			notable = append(notable, line)
		}
	}
	if len(notable) > 60 {
		notable = notable[len(notable)-60:]
	}
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	s.t.Logf("server log, errors and non-2xx requests:\n%s", strings.Join(notable, "\n"))
	s.t.Logf("server log, last lines:\n%s", strings.Join(lines, "\n"))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// ---- TLS ----

// testCert is a throwaway CA and a server certificate for 127.0.0.1 that it
// signed, as PEM files.
type testCert struct {
	CAFile, CertFile, KeyFile string
	Pool                      *x509.CertPool
}

func newTestCert(t *testing.T) *testCert {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "insitu e2e test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          []byte{1, 2, 3, 4, 5, 6, 7, 8},
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCert{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cert.pem"),
		KeyFile:  filepath.Join(dir, "key.pem"),
		Pool:     x509.NewCertPool(),
	}
	c.Pool.AddCert(caCert)
	writePEM(t, c.CAFile, "CERTIFICATE", caDER)
	// The served chain: leaf then CA.
	writePEM(t, c.CertFile, "CERTIFICATE", der, caDER)
	writePEM(t, c.KeyFile, "PRIVATE KEY", keyDER)
	return c
}

func writePEM(t *testing.T, path, typ string, ders ...[]byte) {
	t.Helper()
	var buf bytes.Buffer
	for _, der := range ders {
		if err := pem.Encode(&buf, &pem.Block{Type: typ, Bytes: der}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ---- running tools ----

// toolEnv is a clean environment for an S3 tool: only PATH (and pyenv's
// variables, which the pip aws CLI's shim needs) survive from ours; HOME is
// a fresh directory; the aws config files point nowhere; the keys and the
// region come from the environment; AWS_CA_BUNDLE is unset.
func toolEnv(t *testing.T, accessKey, secretKey string, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"PYTHONIOENCODING=utf-8",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-such-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-such-aws-credentials"),
		"AWS_ACCESS_KEY_ID=" + accessKey,
		"AWS_SECRET_ACCESS_KEY=" + secretKey,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYENV_") || strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runTool runs a tool with a timeout and returns its stdout; on error or
// non-zero exit it returns an error carrying the command line and the
// combined output.
func runTool(env []string, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var stdout, combined syncBuffer
	cmd.Stdout = io.MultiWriter(&stdout, &combined)
	cmd.Stderr = &combined
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", timeout, err)
	}
	if err != nil {
		out := combined.String()
		if len(out) > 8<<10 {
			out = fmt.Sprintf("[%d bytes cut]...%s", len(out)-8<<10, out[len(out)-8<<10:])
		}
		return stdout.String(), fmt.Errorf("%s %s: %v (after %v)\n--- output ---\n%s",
			name, quoteArgs(args), err, time.Since(start).Round(time.Millisecond), out)
	}
	return stdout.String(), nil
}

// mustRun is runTool that fails the test on error.
func mustRun(t *testing.T, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := runTool(env, timeout, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \"'&$\\") || strings.ContainsFunc(a, func(r rune) bool { return r > 127 }) {
			q[i] = strconv.Quote(a)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

// ---- data ----

// randomFile writes size random bytes to dir/name and returns the path and
// the bytes.
func randomFile(t *testing.T, dir, name string, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// checkFile compares the bytes of path with want.
func checkFile(t *testing.T, what, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	checkBytes(t, what, got, want)
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at offset %d", what, len(got), len(want), i)
}
