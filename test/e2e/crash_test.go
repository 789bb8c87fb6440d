package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	crashBucket   = "crash"
	crashWorkers  = 16
	crashRounds   = 3
	multipartSize = 11 << 20
	partSize      = 5 << 20
)

// sdkClient is an aws-sdk-go-v2 S3 client for s, path style, root keys,
// default checksum settings.
func sdkClient(s *server) *s3.Client {
	hc := s.HTTPClient()
	hc.Timeout = 60 * time.Second
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(rootAK, rootSK, ""),
		HTTPClient:  hc,
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	})
}

// keyState is what the test knows about one key across rounds.
type keyState struct {
	shared   bool            // written concurrently by several workers
	attempts map[string]bool // MD5s of every body ever sent
	acked    string          // MD5 of the last acknowledged body (single writer)
	hasAck   bool            // some PUT of this key was acknowledged
	pending  map[string]bool // single writer: sent after the last ack, not acknowledged
}

type crashLedger struct {
	mu   sync.Mutex
	keys map[string]*keyState
}

func (l *crashLedger) state(key string, shared bool) *keyState {
	ks := l.keys[key]
	if ks == nil {
		ks = &keyState{shared: shared, attempts: map[string]bool{}, pending: map[string]bool{}}
		l.keys[key] = ks
	}
	return ks
}

func (l *crashLedger) attempt(key string, shared bool, sum string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ks := l.state(key, shared)
	ks.attempts[sum] = true
	ks.pending[sum] = true
}

func (l *crashLedger) ack(key, sum string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ks := l.keys[key]
	ks.acked, ks.hasAck = sum, true
	if !ks.shared {
		ks.pending = map[string]bool{}
	}
}

// TestCrashRecovery SIGKILLs the real binary during concurrent uploads
// (single PUTs of 0 to 3 MiB and 11 MiB multipart uploads), restarts it on
// the same data directory, and checks: every acknowledged object reads back
// with the acknowledged MD5; every listed key reads back whole with the
// listed size and the MD5 of a body sent for it; store/tmp is empty. Three
// rounds on one data directory; the second is a flood of single PUTs of
// under 16 KiB (bodies kept inline in the index).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	srv := startServer(t, serverOpts{})
	ctx := context.Background()
	client := sdkClient(srv)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(crashBucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	ledger := &crashLedger{keys: map[string]*keyState{}}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 1))
	counters := make([]int, crashWorkers)
	for round := 0; round < crashRounds; round++ {
		start := time.Now()
		killAfter := time.Second + time.Duration(rng.Int64N(int64(2*time.Second)))
		stats := crashRound(t, srv, client, ledger, round, seed, counters, killAfter)
		t.Logf("round %d: killed after %v; %d PUTs acknowledged (%d multipart), %d interrupted, %.1f MiB acknowledged",
			round, killAfter.Round(time.Millisecond), stats.acked.Load(), stats.multipart.Load(),
			stats.interrupted.Load(), float64(stats.bytes.Load())/(1<<20))
		srv.Start()
		client = sdkClient(srv)
		checkDataDir(t, srv.opts.DataDir, round == 0)
		n := verifyCrash(t, client, ledger)
		t.Logf("round %d: verified %d listed objects; round took %v", round, n, time.Since(start).Round(time.Millisecond))
		if t.Failed() {
			break
		}
	}
	srv.Stop()
}

type roundStats struct {
	acked, multipart, interrupted, bytes atomic.Int64
}

func crashRound(t *testing.T, srv *server, client *s3.Client, ledger *crashLedger, round int, seed uint64,
	counters []int, killAfter time.Duration) *roundStats {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var killed atomic.Bool
	var stats roundStats
	var errMu sync.Mutex
	var errs []string
	uploader := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = partSize
		u.Concurrency = 3
	})
	pool := make([]byte, multipartSize+(1<<20))
	_, _ = crand.Read(pool)
	var wg sync.WaitGroup
	for w := 0; w < crashWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(seed, uint64(round*1000+w+2)))
			var own []string
			for ctx.Err() == nil {
				// Choose a key: a new one, one of this worker's own (an
				// overwrite), or one of a few keys every worker writes.
				var key string
				shared := false
				switch p := rng.IntN(100); {
				case p < 10:
					key, shared = fmt.Sprintf("shared/%d", rng.IntN(4)), true
				case p < 35 && len(own) > 0:
					key = own[rng.IntN(len(own))]
				default:
					counters[w]++
					key = fmt.Sprintf("w%02d/%d-%04d é+&=", w, round, counters[w])
					own = append(own, key)
				}
				var size int
				multipart := false
				switch p := rng.IntN(100); {
				case p < 10 || (len(own) == 1 && w < 2):
					// Workers 0 and 1 start with a multipart upload.
					size, multipart = multipartSize, true
				case p < 15:
					size = 0
				case p < 60:
					size = 1 + rng.IntN(64<<10)
				default:
					size = (64 << 10) + rng.IntN(3<<20-64<<10)
				}
				if round == 1 {
					// A flood of small PUTs: bodies the store keeps
					// inline in its index (at most 64 KiB).
					size, multipart = rng.IntN(16<<10), false
				}
				// Bytes from the shared random pool at a random offset,
				// stamped with a unique id so that no two bodies match.
				body := make([]byte, size)
				copy(body, pool[rng.IntN(len(pool)-size+1):])
				copy(body, fmt.Sprintf("%02d:%d:%08d;", w, round, rng.Uint32()))
				sum := md5.Sum(body)
				sumHex := hex.EncodeToString(sum[:])
				ledger.attempt(key, shared, sumHex)
				var etag string
				var err error
				if multipart {
					var out *manager.UploadOutput
					out, err = uploader.Upload(ctx, &s3.PutObjectInput{
						Bucket: aws.String(crashBucket), Key: aws.String(key), Body: bytes.NewReader(body),
					})
					if err == nil {
						etag = aws.ToString(out.ETag)
					}
				} else {
					var out *s3.PutObjectOutput
					out, err = client.PutObject(ctx, &s3.PutObjectInput{
						Bucket: aws.String(crashBucket), Key: aws.String(key), Body: bytes.NewReader(body),
						ContentLength: aws.Int64(int64(size)),
					})
					if err == nil {
						etag = aws.ToString(out.ETag)
					}
				}
				if err != nil {
					if killed.Load() {
						stats.interrupted.Add(1)
						return
					}
					errMu.Lock()
					errs = append(errs, fmt.Sprintf("PUT %q (%d bytes, multipart %v) before the kill: %v", key, size, multipart, err))
					errMu.Unlock()
					continue
				}
				ledger.ack(key, sumHex)
				stats.acked.Add(1)
				stats.bytes.Add(int64(size))
				if multipart {
					stats.multipart.Add(1)
				}
				if want := wantETag(body, multipart); strings.Trim(etag, `"`) != want {
					errMu.Lock()
					errs = append(errs, fmt.Sprintf("PUT %q (%d bytes, multipart %v): ETag %s, want %q", key, size, multipart, etag, want))
					errMu.Unlock()
				}
			}
		}()
	}
	time.Sleep(killAfter)
	killed.Store(true)
	srv.Kill()
	cancel()
	wg.Wait()
	for i, e := range errs {
		if i == 10 {
			t.Errorf("... and %d more errors", len(errs)-10)
			break
		}
		t.Error(e)
	}
	return &stats
}

// wantETag is S3's ETag: the MD5 of the body, or for a multipart upload the
// MD5 of the parts' MD5s, a dash and the number of parts.
func wantETag(body []byte, multipart bool) string {
	if !multipart {
		s := md5.Sum(body)
		return hex.EncodeToString(s[:])
	}
	var cat []byte
	n := 0
	for off := 0; off < len(body); off += partSize {
		end := min(off+partSize, len(body))
		s := md5.Sum(body[off:end])
		cat = append(cat, s[:]...)
		n++
	}
	s := md5.Sum(cat)
	return fmt.Sprintf("%s-%d", hex.EncodeToString(s[:]), n)
}

// checkDataDir requires that a restart left no temporary files.
func checkDataDir(t *testing.T, dir string, show bool) {
	t.Helper()
	var top []string
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		top = append(top, e.Name())
	}
	if show {
		t.Logf("data dir after restart holds %v", top)
	}
	tmp := filepath.Join(dir, "store", "tmp")
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Errorf("data dir holds %v: reading %s: %v (has the layout changed?)", top, tmp, err)
		return
	}
	if len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("after restart %s holds %d leftover files, want none: %v", tmp, len(left), names)
	}
}

// verifyCrash checks the bucket against the ledger and returns how many
// objects it listed. It then folds what it read into the ledger: after a
// restart, an object that survived is the new baseline for its key.
func verifyCrash(t *testing.T, client *s3.Client, ledger *crashLedger) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	listed := map[string]int64{}
	var token *string
	pages := 0
	for {
		out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(crashBucket), ContinuationToken: token, MaxKeys: aws.Int32(100),
		})
		if err != nil {
			t.Fatalf("ListObjectsV2 page %d: %v", pages+1, err)
		}
		pages++
		for _, o := range out.Contents {
			k := aws.ToString(o.Key)
			if _, dup := listed[k]; dup {
				t.Errorf("ListObjectsV2: key %q listed twice", k)
			}
			listed[k] = aws.ToInt64(o.Size)
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		if out.NextContinuationToken == nil {
			t.Fatalf("ListObjectsV2: truncated page without NextContinuationToken")
		}
		token = out.NextContinuationToken
	}

	// Read every listed object whole.
	type result struct {
		key string
		sum string
		err error
	}
	keys := make([]string, 0, len(listed))
	for k := range listed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	results := make(chan result, len(keys))
	work := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				sum, err := readWhole(ctx, client, k, listed[k])
				results <- result{k, sum, err}
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	close(results)
	got := map[string]string{}
	for r := range results {
		if r.err != nil {
			t.Errorf("listed key %q (%d bytes) not readable whole: %v", r.key, listed[r.key], r.err)
			continue
		}
		got[r.key] = r.sum
	}

	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	for k := range listed {
		if ledger.keys[k] == nil {
			t.Errorf("listed key %q was never written", k)
		}
	}
	for k, ks := range ledger.keys {
		sum, present := got[k]
		if _, isListed := listed[k]; !isListed {
			if ks.hasAck {
				t.Errorf("key %q: acknowledged (MD5 %s) but not listed after restart", k, ks.acked)
			}
			continue
		}
		if !present {
			continue // reported above
		}
		switch {
		case ks.shared:
			if !ks.attempts[sum] {
				t.Errorf("key %q: MD5 %s matches none of the %d bodies sent", k, sum, len(ks.attempts))
			}
		case ks.pending[sum]:
			// An interrupted PUT that was committed: allowed.
		case ks.hasAck && sum == ks.acked:
		case ks.hasAck:
			t.Errorf("key %q: MD5 %s, want the acknowledged %s (or an interrupted PUT's)", k, sum, ks.acked)
		default:
			if !ks.attempts[sum] {
				t.Errorf("key %q: MD5 %s matches no body sent", k, sum)
			}
		}
		// The survivor is the baseline for the next round.
		ks.acked, ks.hasAck = sum, true
		ks.pending = map[string]bool{}
	}
	for _, ks := range ledger.keys {
		ks.pending = map[string]bool{}
	}
	return len(listed)
}

// readWhole GETs key, checks Content-Length and the byte count against
// size, and returns the MD5 of the bytes.
func readWhole(ctx context.Context, client *s3.Client, key string, size int64) (string, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(crashBucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	if cl := aws.ToInt64(out.ContentLength); cl != size {
		return "", fmt.Errorf("Content-Length %d, listed size %d", cl, size)
	}
	h := md5.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		return "", fmt.Errorf("after %d bytes: %w", n, err)
	}
	if n != size {
		return "", fmt.Errorf("read %d bytes, listed size %d", n, size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
