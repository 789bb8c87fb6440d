// Package s3load is the S3 load generator and report helpers the object
// store benchmarks under bench/ share (s3bench, cluster): one aws-sdk-go-v2
// client per endpoint with identical settings, a timed closed-loop runner,
// size parsing and table printing. Nothing in it is safe for concurrent
// mutation except what its doc comments say.
package s3load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Loader is the load client for one server. Both servers get identical
// settings: path style, no retries, SDK checksums only when an operation
// requires them, a connection pool larger than any concurrency used.
type Loader struct {
	s3       *s3.Client
	endpoint string
	hc       *http.Client // for unsigned requests (AnonGet)
}

// NewLoader returns a client of endpoint signing as ak/sk; signed PUTs
// carry the SHA-256 of the body, else UNSIGNED-PAYLOAD. A Loader is safe
// for concurrent use.
func NewLoader(endpoint, ak, sk string, signed bool) *Loader {
	hc := awshttp.NewBuildableClient().WithTimeout(0).WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 512
		t.MaxIdleConnsPerHost = 512
		t.MaxConnsPerHost = 0
		t.DisableCompression = true
	})
	opts := s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:                 hc,
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if !signed {
		opts.APIOptions = append(opts.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	}
	plain := &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, DisableCompression: true}}
	return &Loader{s3: s3.New(opts), endpoint: endpoint, hc: plain}
}

// Result is what one row measured against one server.
type Result struct {
	Ops     float64       // operations in the measured window (see timed)
	Bytes   float64       // payload bytes moved in the window
	Items   float64       // keys listed in the window (LIST only)
	Elapsed time.Duration // the measured window
	Errs    int64         // failed operations (warm-up included)
	FirstEr error
	P50     time.Duration
	P99     time.Duration
}

// OpsPerSec is operations per second in the measured window.
func (r Result) OpsPerSec() float64 { return r.Ops / r.Elapsed.Seconds() }

// MiBPerSec is payload MiB per second in the measured window.
func (r Result) MiBPerSec() float64 { return r.Bytes / MiB / r.Elapsed.Seconds() }

// OpFunc performs one operation; it returns the payload bytes moved and,
// for listings, the number of keys seen.
type OpFunc func(ctx context.Context, worker, seq int) (bytes, items int64, err error)

// Timed runs op on conc workers: warmup unmeasured, then duration measured.
// Each operation counts for the fraction of its duration that falls inside
// the measured window (an operation of 2 s with 0.5 s inside counts 0.25 of
// an operation and of its bytes), so large objects at high concurrency are
// not quantised into whole waves. No operation starts after the window.
// Latency percentiles cover the operations that overlap the window.
func Timed(ctx context.Context, conc int, warmup, duration time.Duration, op OpFunc) Result {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+duration)
	var (
		mu    sync.Mutex
		res   Result
		lats  []time.Duration
		errs  atomic.Int64
		wg    sync.WaitGroup
		first error
	)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var ops, nb, items float64
			var mine []time.Duration
			for seq := 0; ctx.Err() == nil; seq++ {
				t0 := time.Now()
				if !t0.Before(to) {
					break
				}
				b, n, err := op(ctx, w, seq)
				t1 := time.Now()
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						first = err
						mu.Unlock()
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if in := minTime(t1, to).Sub(maxTime(t0, from)); in > 0 {
					f := float64(in) / float64(max(t1.Sub(t0), 1))
					ops, nb, items = ops+f, nb+f*float64(b), items+f*float64(n)
					mine = append(mine, t1.Sub(t0))
				}
			}
			mu.Lock()
			res.Ops, res.Bytes, res.Items = res.Ops+ops, res.Bytes+nb, res.Items+items
			lats = append(lats, mine...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.Elapsed = duration
	res.Errs, res.FirstEr = errs.Load(), first
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	if len(lats) > 0 {
		res.P50 = lats[len(lats)/2]
		res.P99 = lats[len(lats)*99/100]
	}
	return res
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// CreateBucket creates bucket.
func (l *Loader) CreateBucket(ctx context.Context, bucket string) error {
	_, err := l.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	return err
}

// Put writes payload to bucket/key.
func (l *Loader) Put(ctx context.Context, bucket, key string, payload []byte) error {
	_, err := l.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(payload),
		ContentLength: aws.Int64(int64(len(payload))),
	})
	return err
}

// Get reads an object and discards its body; it returns the bytes read.
func (l *Loader) Get(ctx context.Context, bucket, key string, want int64) (int64, error) {
	out, err := l.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, out.Body)
	out.Body.Close()
	if err == nil && n != want {
		err = fmt.Errorf("GET %s: read %d bytes, want %d", key, n, want)
	}
	return n, err
}

// EnableVersioning turns on bucket's versioning.
func (l *Loader) EnableVersioning(ctx context.Context, bucket string) error {
	_, err := l.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	return err
}

// PutPolicy sets bucket's bucket policy to doc.
func (l *Loader) PutPolicy(ctx context.Context, bucket, doc string) error {
	_, err := l.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(doc)})
	return err
}

// AnonGet reads an object with a plain unsigned GET (what a browser or
// curl sends where a bucket policy allows anonymous reads) and discards
// its body; it returns the bytes read.
func (l *Loader) AnonGet(ctx context.Context, bucket, key string, want int64) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.endpoint+"/"+bucket+"/"+key, nil)
	if err != nil {
		return 0, err
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("anonymous GET %s: status %d", key, resp.StatusCode)
	} else if err == nil && n != want {
		err = fmt.Errorf("anonymous GET %s: read %d bytes, want %d", key, n, want)
	}
	return n, err
}

// ListAll lists every key of bucket with paginated ListObjectsV2 (1,000
// keys a page) and returns how many it saw.
func (l *Loader) ListAll(ctx context.Context, bucket string) (int64, error) {
	p := s3.NewListObjectsV2Paginator(l.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1000)})
	var n int64
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, err
		}
		n += int64(len(page.Contents))
	}
	return n, nil
}

// DeleteAll removes keys with DeleteObjects, 1,000 at a time.
func (l *Loader) DeleteAll(ctx context.Context, bucket string, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		objs := make([]types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			objs[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		_, err := l.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket),
			Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}
