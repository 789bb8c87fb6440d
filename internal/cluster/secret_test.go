package cluster

import (
	"fmt"
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

// A nonce is refused as a replay for as long as its request's time is
// inside the window, even when it arrived behind requests with later
// times; once past the window it is forgotten, so the memory holds only
// the last 2×MaxSkew of requests however many pass.
func TestSignerRemembersNoncesForTheWindow(t *testing.T) {
	clock := time.Unix(1_000_000, 0)
	s := NewSigner("s3cret-s3cret-s3cret", "n1")
	s.now = func() time.Time { return clock }
	nonce := func(i int) string { return fmt.Sprintf("%032x", i) }
	// An early nonce from a clock MaxSkew ahead, then one from behind.
	if !s.remember(nonce(1), clock.Add(MaxSkew), clock) || !s.remember(nonce(2), clock.Add(-MaxSkew), clock) {
		t.Fatal("first sight refused")
	}
	clock = clock.Add(MaxSkew + time.Second)
	// nonce 2's time is now outside the window (Verify refuses it by time);
	// nonce 1's is still inside and must still be refused.
	if s.remember(nonce(1), clock.Add(-time.Second), clock) {
		t.Fatal("nonce 1 replayed inside its window")
	}
	if s.remember("zz", clock, clock) || s.remember("", clock, clock) {
		t.Fatal("a malformed nonce was accepted")
	}
	// Sustained load: 100 per simulated second for 10 windows.
	for i := 0; i < 100*int(20*MaxSkew/time.Second); i++ {
		if i%100 == 0 {
			clock = clock.Add(time.Second)
		}
		if !s.remember(nonce(1000+i), clock, clock) {
			t.Fatalf("request %d refused", i)
		}
	}
	if n, max := len(s.seen.set), 100*int(2*MaxSkew/time.Second)+200; n > max {
		t.Fatalf("remembering %d nonces after sustained load, want <= %d", n, max)
	}
	if len(s.seen.queue) > 4*100*int(2*MaxSkew/time.Second) {
		t.Fatalf("queue holds %d entries: its storage is not reused", len(s.seen.queue))
	}
}

// BenchmarkSignerVerify measures verifying one signed request with the
// replay memory holding a full window of nonces.
func BenchmarkSignerVerify(b *testing.B) {
	a, v := NewSigner("s3cret-s3cret-s3cret", "n1"), NewSigner("s3cret-s3cret-s3cret", "n2")
	for i := 0; i < 20000; i++ {
		v.remember(fmt.Sprintf("%032x", i), time.Now(), time.Now())
	}
	r, _ := http.NewRequest("GET", "http://x/_cluster/v1/lookup?bucket=b&key=k", nil)
	b.ResetTimer()
	for b.Loop() {
		a.Sign(r)
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}
