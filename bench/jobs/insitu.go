package main

import (
	"context"
	"fmt"
	"github.com/insitu-cloud/insitu/bench/internal/benchnode"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/insitu-cloud/insitu/internal/client"
)

const (
	accessKey = "benchjobsroot"
	secretKey = "bench-jobs-secret-key-0123456789"
	bucket    = "bench"
	prefix    = "wc/"
)

// countingTransport counts the body bytes sent and received: what crosses
// the network besides headers.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.ContentLength > 0 {
		t.n.Add(req.ContentLength)
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

type server struct {
	node     *benchnode.Node
	logPath  string
	endpoint string
	net      *countingTransport
	api      *client.Client
	s3       *s3.Client
}

func newTransport() *countingTransport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.DisableCompression = 256, 256, true
	return &countingTransport{base: tr}
}

// startInsitu builds (or takes) the binary and starts a server on a fresh
// data directory under tmp, then pushes wc (and the reduce app).
func startInsitu(ctx context.Context, cfg *config, root, tmp string) (*server, error) {
	bin, err := benchnode.Build(ctx, root, tmp, cfg.insitu)
	if err != nil {
		return nil, err
	}
	node, err := benchnode.Start(bin, tmp, accessKey, secretKey)
	if err != nil {
		return nil, err
	}
	s := &server{node: node, logPath: node.LogPath, endpoint: node.Endpoint, net: newTransport()}
	s.api, err = client.New(client.Config{Endpoint: s.endpoint, AccessKey: accessKey, SecretKey: secretKey,
		HTTPClient: &http.Client{Transport: s.net}})
	if err != nil {
		s.stop()
		return nil, err
	}
	s.s3 = s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		HTTPClient:  &http.Client{Transport: s.net}, Retryer: aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		APIOptions:                 []func(*middleware.Stack) error{v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware},
	})
	apps := []string{"wc"}
	if cfg.reduce != "" {
		apps = append(apps, strings.Fields(cfg.reduce)[0])
	}
	for _, a := range apps {
		wasm, err := os.ReadFile(filepath.Join(root, "examples", "apps", a, a+".wasm"))
		if err != nil {
			s.stop()
			return nil, err
		}
		if _, err := s.api.PushApp(ctx, a, "1.0.0", wasm, nil, false); err != nil {
			s.stop()
			return nil, fmt.Errorf("push %s: %w", a, err)
		}
	}
	return s, nil
}

func (s *server) stop() { s.node.Stop() }

// parallel runs fn(i) for i in [0, n) on workers goroutines; the first
// error wins.
func parallel(n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func (s *server) upload(ctx context.Context, files []string, workers int) error {
	if _, err := s.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return err
	}
	return parallel(len(files), workers, func(i int) error {
		f, err := os.Open(files[i])
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		_, err = s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + filepath.Base(files[i])),
			Body: f, ContentLength: aws.Int64(st.Size()), ContentType: aws.String("text/plain")})
		return err
	})
}

// parseWC adds up "LINES WORDS BYTES" lines.
func parseWC(text string) (counts, error) {
	var c counts
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return c, fmt.Errorf("output line %q is not LINES WORDS BYTES", line)
		}
		var v [3]int64
		for i := range v {
			var err error
			if v[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
				return c, fmt.Errorf("output line %q: %v", line, err)
			}
		}
		c.add(counts{v[0], v[1], v[2]})
	}
	return c, nil
}

// jobRun submits the job, waits until it succeeded and reads its outputs
// (the last phase's), as `insitu job run ... && insitu job cat` would.
func (s *server) jobRun(ctx context.Context, cfg *config) (time.Duration, counts, int64, string, error) {
	phases := []client.JobPhase{{Type: "map", App: "wc"}}
	if cfg.reduce != "" {
		f := strings.Fields(cfg.reduce)
		phases = append(phases, client.JobPhase{Type: "reduce", App: f[0], Args: f[1:]})
	}
	net0 := s.net.n.Load()
	start := time.Now()
	j, err := s.api.SubmitJob(ctx, client.JobSpec{Inputs: []string{"s3://" + bucket + "/" + prefix}, Phases: phases})
	if err != nil {
		return 0, counts{}, 0, "", fmt.Errorf("submit: %w", err)
	}
	submitted := time.Since(start)
	final, err := s.api.WatchJob(ctx, j.ID, nil)
	if err != nil {
		return 0, counts{}, 0, "", fmt.Errorf("watch: %w", err)
	}
	ended := time.Since(start)
	if final.State != "succeeded" {
		return 0, counts{}, 0, "", fmt.Errorf("job %s %s: %s", j.ID, final.State, final.Error)
	}
	outs, err := s.api.JobOutputs(ctx, j.ID, -1)
	if err != nil {
		return 0, counts{}, 0, "", err
	}
	texts := make([]string, len(outs))
	err = parallel(len(outs), cfg.downloaders, func(i int) error {
		b, k, _ := strings.Cut(strings.TrimPrefix(outs[i].Object, "s3://"), "/")
		o, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			return err
		}
		defer o.Body.Close()
		data, err := io.ReadAll(o.Body)
		texts[i] = string(data)
		return err
	})
	took := time.Since(start)
	moved := s.net.n.Load() - net0
	if err != nil {
		return 0, counts{}, 0, "", err
	}
	c, err := parseWC(strings.Join(texts, ""))
	stat := fmt.Sprintf("job %s: submit %v, submit->succeeded %v (server: started->ended %v), +%d outputs read %v; bytes in %d, out %d",
		j.ID, submitted.Round(time.Millisecond), ended.Round(time.Millisecond), final.Ended.Sub(final.Started).Round(time.Millisecond),
		len(outs), (took - ended).Round(time.Millisecond), final.BytesIn, final.BytesOut)
	// The runs' own accounting (not timed): time inside the sandbox.
	if recs, rerr := s.api.ListRuns(ctx, cfg.objects); rerr == nil && len(recs) > 0 {
		var wall, cpu float64
		for _, r := range recs {
			wall += r.WallMS
			cpu += r.CPUMS
		}
		stat += fmt.Sprintf("; runs: mean %.2f ms wall, %.2f ms CPU each, %.2f s wall in all", wall/float64(len(recs)), cpu/float64(len(recs)), wall/1000)
	}
	return took, c, moved, stat, err
}

// downloadCount lists the objects and downloads them all, counting words.
func (s *server) downloadCount(ctx context.Context, cfg *config) (time.Duration, counts, int64, error) {
	net0 := s.net.n.Load()
	start := time.Now()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, counts{}, 0, err
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	var mu sync.Mutex
	var total counts
	err := parallel(len(keys), cfg.downloaders, func(i int) error {
		o, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[i])})
		if err != nil {
			return err
		}
		defer o.Body.Close()
		c, err := countReader(o.Body, make([]byte, 256<<10))
		if err != nil {
			return err
		}
		mu.Lock()
		total.add(c)
		mu.Unlock()
		return nil
	})
	took := time.Since(start)
	if err == nil && len(keys) != cfg.objects {
		err = fmt.Errorf("listed %d objects, want %d", len(keys), cfg.objects)
	}
	return took, total, s.net.n.Load() - net0, err
}
