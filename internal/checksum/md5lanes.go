package checksum

import (
	"crypto/md5"
	"hash"
	"sync"

	md5simd "github.com/minio/md5-simd"
)

// MD5Lanes hashes many bodies with MD5 side by side: its hashes share the
// SIMD lanes of one minio/md5-simd server (8 streams per AVX2 pass, 16
// per AVX-512; a CPU without AVX2 gets the library's scalar code). That
// gives more bytes per CPU-second than crypto/md5 once several bodies are
// hashed at once, and fewer for a body hashed alone, so callers use it
// only while they hash several (a server's PUTs: MD5 is the ETag).
//
// The server's goroutine is owned by the MD5Lanes: Close waits until
// every hash handed out has been released, then stops it; a hash asked
// for after Close is crypto/md5's. Safe for concurrent use.
type MD5Lanes struct {
	life   sync.RWMutex // held for reading by every lane hash in use
	srv    md5simd.Server
	closed bool
}

// NewMD5Lanes starts the lanes' server.
func NewMD5Lanes() *MD5Lanes { return &MD5Lanes{srv: md5simd.NewServer()} }

// Hash returns an MD5 hash on the lanes and its release, which the caller
// must call exactly once, after its last use of the hash (Sum included).
func (l *MD5Lanes) Hash() (hash.Hash, func()) {
	l.life.RLock()
	if l.closed {
		l.life.RUnlock()
		return md5.New(), func() {}
	}
	h := l.srv.NewHash()
	var once sync.Once
	return h, func() {
		once.Do(func() {
			h.Close()
			l.life.RUnlock()
		})
	}
}

// Close waits for the hashes in use to be released and stops the server.
// It is idempotent.
func (l *MD5Lanes) Close() {
	l.life.Lock()
	defer l.life.Unlock()
	if !l.closed {
		l.closed = true
		l.srv.Close()
	}
}
