package tiny

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// relayEnv names the unix socket a re-executed test binary relays to: QEMU
// runs `TESTBINARY` for each guest connection to 169.254.169.254:80
// (slirp guestfwd cmd:), with the guest's connection on stdin/stdout, as
// insitu's `imds-relay SOCKETPATH` does.
const relayEnv = "INSITU_TINY_RELAY"

func TestMain(m *testing.M) {
	if sock := os.Getenv(relayEnv); sock != "" {
		if err := relay(sock); err != nil {
			os.Stderr.WriteString("relay: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// relay copies stdin to the unix socket sock and the socket to stdout,
// until the socket's side ends.
func relay(sock string) error {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	defer c.Close()
	go func() {
		_, _ = io.Copy(c, os.Stdin)
		_ = c.(*net.UnixConn).CloseWrite()
	}()
	_, err = io.Copy(os.Stdout, c)
	return err
}

// imds is a metadata service for one instance (EC2's paths, IMDSv2 tokens
// and IMDSv1) served on a unix socket. Safe for concurrent use.
type imds struct {
	id, key, userData string
	token             string
	v2Gets            atomic.Int64 // GETs that carried the right token
	srv               *http.Server
}

// startIMDS serves on sock until the test ends.
func startIMDS(t *testing.T, sock, id, key, userData string) *imds {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	m := &imds{id: id, key: key, userData: userData, token: hex.EncodeToString(b)}
	m.srv = &http.Server{Handler: http.HandlerFunc(m.serve)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("imds: %v", err)
		}
	}()
	t.Cleanup(func() { _ = m.srv.Close(); wg.Wait() })
	return m
}

func (m *imds) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "PUT with X-aws-ec2-metadata-token-ttl-seconds", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, m.token)
		return
	}
	if tok := r.Header.Get("X-aws-ec2-metadata-token"); tok != "" {
		if tok != m.token {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		m.v2Gets.Add(1)
	}
	body, ok := map[string]string{
		"/latest/meta-data/instance-id":               m.id,
		"/latest/meta-data/public-keys/0/openssh-key": strings.TrimSpace(m.key) + "\n",
		"/latest/user-data":                           m.userData,
	}[r.URL.Path]
	if !ok || body == "" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	_, _ = io.WriteString(w, body)
}
