package cluster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SecretFile is the name of the file, in a node's data directory, that
// keeps the cluster secret (mode 0600).
const SecretFile = "cluster-secret"

// LoadSecret returns the cluster secret: env when set (and then kept in
// dataDir), else the one kept in dataDir, else, when generate is true, a
// new random one (written to dataDir). created reports a generated secret,
// which the caller prints once.
func LoadSecret(dataDir, env string, generate bool) (secret string, created bool, err error) {
	path := filepath.Join(dataDir, SecretFile)
	if env != "" {
		if len(env) < 16 {
			return "", false, errors.New("cluster: INSITU_CLUSTER_SECRET must be at least 16 characters")
		}
		return env, false, os.WriteFile(path, []byte(env+"\n"), 0o600)
	}
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("cluster: %w", err)
	}
	if !generate {
		return "", false, errors.New("cluster: joining needs the cluster's secret: set INSITU_CLUSTER_SECRET (the first node printed it and keeps it in its data directory)")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, err
	}
	secret = hex.EncodeToString(b[:])
	return secret, true, os.WriteFile(path, []byte(secret+"\n"), 0o600)
}

// Headers of a signed internal request.
const (
	hdrNode  = "X-Insitu-Node"
	hdrTime  = "X-Insitu-Time"
	hdrNonce = "X-Insitu-Nonce"
	hdrSig   = "X-Insitu-Signature"
	// hdrPrefix: every header with this prefix is covered by the signature.
	hdrPrefix = "X-Insitu-"
)

// MaxSkew is how far a signed request's time may be from the verifier's
// clock; nonces are remembered at least this long, so a replay inside
// the window is refused by its nonce and one outside by its time.
const MaxSkew = 30 * time.Second

// Signer signs internal requests with the cluster secret. It is safe for
// concurrent use.
type Signer struct {
	key  []byte
	node string
	now  func() time.Time

	mu   sync.Mutex
	seen nonces
}

// NewSigner returns a signer and verifier for node name.
func NewSigner(secret, node string) *Signer {
	return &Signer{key: []byte(secret), node: node, now: time.Now, seen: nonces{set: map[[nonceLen]byte]struct{}{}}}
}

// Sign adds the node, time, nonce and signature headers to r. Headers
// with the X-Insitu- prefix must be set before Sign.
func (s *Signer) Sign(r *http.Request) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	r.Header.Set(hdrNode, s.node)
	r.Header.Set(hdrTime, strconv.FormatInt(s.now().UnixNano(), 10))
	r.Header.Set(hdrNonce, hex.EncodeToString(nonce[:]))
	r.Header.Set(hdrSig, s.mac(r))
}

// mac is the hex HMAC-SHA256 of the request's method, path, raw query and
// every X-Insitu- header but the signature, sorted by name.
func (s *Signer) mac(r *http.Request) string {
	h := hmac.New(sha256.New, s.key)
	fmt.Fprintf(h, "%s\n%s\n%s\n", r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
	var names []string
	for k := range r.Header {
		if ck := http.CanonicalHeaderKey(k); strings.HasPrefix(ck, hdrPrefix) && ck != hdrSig {
			names = append(names, ck)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(h, "%s:%s\n", k, strings.Join(r.Header.Values(k), ","))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ErrUnsigned is returned by Verify for a request that is not a valid,
// fresh, first-seen internal request.
var ErrUnsigned = errors.New("cluster: internal request not signed by a member")

// Verify checks r's signature, its time and that its nonce is new; it
// returns the calling node's name.
func (s *Signer) Verify(r *http.Request) (string, error) {
	sig, err := hex.DecodeString(r.Header.Get(hdrSig))
	if err != nil || len(sig) != sha256.Size {
		return "", ErrUnsigned
	}
	want, _ := hex.DecodeString(s.mac(r))
	if !hmac.Equal(sig, want) {
		return "", ErrUnsigned
	}
	ns, err := strconv.ParseInt(r.Header.Get(hdrTime), 10, 64)
	if err != nil {
		return "", ErrUnsigned
	}
	t, now := time.Unix(0, ns), s.now()
	if t.Before(now.Add(-MaxSkew)) || t.After(now.Add(MaxSkew)) {
		return "", fmt.Errorf("%w: time outside ±%s", ErrUnsigned, MaxSkew)
	}
	if !s.remember(r.Header.Get(hdrNonce), t, now) {
		return "", fmt.Errorf("%w: replayed", ErrUnsigned)
	}
	return r.Header.Get(hdrNode), nil
}

// remember records nonce and reports whether it was new. A nonce is
// forgotten once its time t is beyond MaxSkew of now, when Verify refuses
// its request by time anyway, so remembering costs O(1) amortized and
// memory in proportion to the requests of the last 2×MaxSkew.
func (s *Signer) remember(nonce string, t, now time.Time) bool {
	var n [nonceLen]byte
	if len(nonce) != 2*nonceLen {
		return false
	}
	if _, err := hex.Decode(n[:], []byte(nonce)); err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen.forget(now.Add(-MaxSkew).UnixNano())
	return s.seen.add(n, t.UnixNano())
}
