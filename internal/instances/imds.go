package instances

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// imdsInfo is what one instance's metadata server answers.
type imdsInfo struct {
	ID, ImageID, Type, IP, Zone, PublicKey, KeyName string
	UserData                                        []byte // nil: none (404)
}

func infoOf(r Record) imdsInfo {
	return imdsInfo{ID: r.ID, ImageID: r.ImageID, Type: r.Type, IP: r.IP, Zone: r.Zone,
		PublicKey: r.PublicKey, KeyName: r.KeyName, UserData: r.userData()}
}

// Limits of IMDSv2 tokens, as on EC2.
const (
	maxTokenTTL = 21600 // seconds
	maxTokens   = 1024  // live tokens kept per instance; past it, expired then arbitrary ones are dropped (a client asks again on 401)
)

// imdsHandler answers the instance metadata paths (EC2's) for one
// instance: IMDSv1 (no token) and IMDSv2 (PUT /latest/api/token, then the
// token on each request; an invalid or expired token is 401). It is safe
// for concurrent use.
type imdsHandler struct {
	info imdsInfo
	now  func() time.Time

	mu     sync.Mutex
	tokens map[string]time.Time // token -> expiry
}

func newIMDSHandler(info imdsInfo, now func() time.Time) *imdsHandler {
	return &imdsHandler{info: info, now: now, tokens: map[string]time.Time{}}
}

func (h *imdsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/latest/api/token" {
		h.serveToken(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if tok := r.Header.Get("X-aws-ec2-metadata-token"); tok != "" && !h.valid(tok) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, ok := h.lookup(strings.TrimSuffix(r.URL.Path, "/"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, body)
}

// serveToken hands out an IMDSv2 token for the asked TTL (1..21600 s).
func (h *imdsHandler) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
	if err != nil || ttl < 1 || ttl > maxTokenTTL {
		http.Error(w, "bad request: X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600", http.StatusBadRequest)
		return
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	h.mu.Lock()
	now := h.now()
	for t, exp := range h.tokens {
		if !now.Before(exp) || len(h.tokens) >= maxTokens {
			delete(h.tokens, t)
		}
	}
	h.tokens[tok] = now.Add(time.Duration(ttl) * time.Second)
	h.mu.Unlock()
	w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
	_, _ = io.WriteString(w, tok)
}

func (h *imdsHandler) valid(tok string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	exp, ok := h.tokens[tok]
	return ok && h.now().Before(exp)
}

// lookup returns the body of a metadata path.
func (h *imdsHandler) lookup(path string) (string, bool) {
	i := h.info
	md := map[string]string{
		"instance-id": i.ID, "ami-id": i.ImageID, "instance-type": i.Type,
		"local-ipv4": i.IP, "public-ipv4": i.IP, "hostname": i.ID, "local-hostname": i.ID,
		"placement/availability-zone": i.Zone, "placement": "availability-zone",
	}
	if i.PublicKey != "" {
		md["public-keys"] = "0=" + i.KeyName
		md["public-keys/0"] = "openssh-key"
		md["public-keys/0/openssh-key"] = i.PublicKey + "\n"
	}
	switch path {
	case "", "/latest":
		return "dynamic\nmeta-data\nuser-data", true
	case "/latest/meta-data":
		list := "ami-id\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-ipv4"
		if i.PublicKey != "" {
			list += "\npublic-keys/"
		}
		return list, true
	case "/latest/user-data":
		return string(i.UserData), i.UserData != nil
	}
	v, ok := md[strings.TrimPrefix(path, "/latest/meta-data/")]
	return v, ok && strings.HasPrefix(path, "/latest/meta-data/")
}

// imdsServer serves one instance's metadata on a unix socket (its
// directory's imds.sock), which the guest reaches through imds-relay.
type imdsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// listenIMDS serves h on the unix socket path, removing a stale socket
// first. The server's goroutine ends at Close.
func listenIMDS(path string, h http.Handler, log *slog.Logger) (*imdsServer, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("instances: remove stale socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("instances: metadata socket: %w", err)
	}
	s := &imdsServer{ln: ln, done: make(chan struct{}), srv: &http.Server{Handler: h,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server and waits for its goroutine.
func (s *imdsServer) Close() {
	_ = s.srv.Close()
	<-s.done
}

// serveIMDS starts the instance's metadata server. l.mu is held.
func (m *Manager) serveIMDS(l *local, r Record) error {
	l.stopIMDS()
	s, err := listenIMDS(m.socket(r.ID), newIMDSHandler(infoOf(r), m.cfg.Now), m.log)
	if err != nil {
		return err
	}
	l.imds = s
	return nil
}
