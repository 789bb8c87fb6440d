package cluster

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A signed internal request verifies once: a replay, a changed path,
// query or insitu header, another secret or a stale time are refused.
func TestSignerRefusesTamperingAndReplay(t *testing.T) {
	a, b := NewSigner("s3cret-s3cret-s3cret", "n1"), NewSigner("s3cret-s3cret-s3cret", "n2")
	newReq := func() *http.Request {
		r, _ := http.NewRequest("PUT", "http://x/_cluster/v1/object?bucket=b&key=k", nil)
		r.Header.Set("X-Insitu-Put", `{"stamp":{"h":1}}`)
		a.Sign(r)
		return r
	}
	r := newReq()
	if node, err := b.Verify(r); err != nil || node != "n1" {
		t.Fatalf("verify: %q %v", node, err)
	}
	if _, err := b.Verify(r); err == nil {
		t.Fatal("a replayed request verified")
	}
	for name, tamper := range map[string]func(*http.Request){
		"path":   func(r *http.Request) { r.URL.Path = "/_cluster/v1/drop" },
		"query":  func(r *http.Request) { r.URL.RawQuery = "bucket=b&key=other" },
		"header": func(r *http.Request) { r.Header.Set("X-Insitu-Put", `{"stamp":{"h":9}}`) },
		"added":  func(r *http.Request) { r.Header.Set("X-Insitu-Info", "{}") },
		"method": func(r *http.Request) { r.Method = "GET" },
		"node":   func(r *http.Request) { r.Header.Set(hdrNode, "n3") },
	} {
		r := newReq()
		tamper(r)
		if _, err := b.Verify(r); err == nil {
			t.Errorf("%s changed after signing, still verified", name)
		}
	}
	other := NewSigner("another-secret-entirely", "n2")
	if _, err := other.Verify(newReq()); err == nil {
		t.Fatal("verified with another secret")
	}
	stale := newReq()
	stale.Header.Set(hdrTime, strconv.FormatInt(time.Now().Add(-2*MaxSkew).UnixNano(), 10))
	a.resign(stale)
	if _, err := b.Verify(stale); err == nil {
		t.Fatal("a stale request verified")
	}
	unsigned, _ := http.NewRequest("GET", "http://x/_cluster/v1/blob/x", nil)
	if _, err := b.Verify(unsigned); err == nil {
		t.Fatal("an unsigned request verified")
	}
}

// resign recomputes the signature over the request's current headers.
func (s *Signer) resign(r *http.Request) { r.Header.Set(hdrSig, s.mac(r)) }
