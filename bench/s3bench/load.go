package main

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

// loader is the load client for one server. Both servers get identical
// settings: path style, no retries, SDK checksums only when an operation
// requires them, a connection pool larger than any concurrency used.
type loader struct {
	s3 *s3.Client
}

func newLoader(endpoint string, signed bool) *loader {
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
		Credentials:                credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		HTTPClient:                 hc,
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if !signed {
		opts.APIOptions = append(opts.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	}
	return &loader{s3: s3.New(opts)}
}

// result is what one row measured against one server.
type result struct {
	ops     float64       // operations in the measured window (see timed)
	bytes   float64       // payload bytes moved in the window
	items   float64       // keys listed in the window (LIST only)
	elapsed time.Duration // the measured window
	errs    int64         // failed operations (warm-up included)
	firstEr error
	p50     time.Duration
	p99     time.Duration
}

func (r result) opsPerSec() float64 { return r.ops / r.elapsed.Seconds() }
func (r result) mibPerSec() float64 { return r.bytes / mib / r.elapsed.Seconds() }

// opFunc performs one operation; it returns the payload bytes moved and,
// for listings, the number of keys seen.
type opFunc func(ctx context.Context, worker, seq int) (bytes, items int64, err error)

// timed runs op on conc workers: warmup unmeasured, then duration measured.
// Each operation counts for the fraction of its duration that falls inside
// the measured window (an operation of 2 s with 0.5 s inside counts 0.25 of
// an operation and of its bytes), so large objects at high concurrency are
// not quantised into whole waves. No operation starts after the window.
// Latency percentiles cover the operations that overlap the window.
func timed(ctx context.Context, conc int, warmup, duration time.Duration, op opFunc) result {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+duration)
	var (
		mu    sync.Mutex
		res   result
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
			res.ops, res.bytes, res.items = res.ops+ops, res.bytes+nb, res.items+items
			lats = append(lats, mine...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.elapsed = duration
	res.errs, res.firstEr = errs.Load(), first
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	if len(lats) > 0 {
		res.p50 = lats[len(lats)/2]
		res.p99 = lats[len(lats)*99/100]
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

func (l *loader) createBucket(ctx context.Context, bucket string) error {
	_, err := l.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	return err
}

func (l *loader) put(ctx context.Context, bucket, key string, payload []byte) error {
	_, err := l.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(payload),
		ContentLength: aws.Int64(int64(len(payload))),
	})
	return err
}

// get reads an object and discards its body; it returns the bytes read.
func (l *loader) get(ctx context.Context, bucket, key string, want int64) (int64, error) {
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

// listAll lists every key of bucket with paginated ListObjectsV2 (1,000
// keys a page) and returns how many it saw.
func (l *loader) listAll(ctx context.Context, bucket string) (int64, error) {
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

// deleteAll removes keys with DeleteObjects, 1,000 at a time.
func (l *loader) deleteAll(ctx context.Context, bucket string, keys []string) error {
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
