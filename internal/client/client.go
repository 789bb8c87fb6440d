package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
)

// DefaultTimeout bounds a whole request (connect, send, wait, read) when
// Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// maxResponseBytes caps how much of a response body the client reads; native
// API responses are small JSON documents.
const maxResponseBytes = 16 << 20

// Config says where the server is and who is calling.
type Config struct {
	// Endpoint is the server's base URL, e.g. "http://127.0.0.1:8773".
	// A path, if any, is prefixed to every API path.
	Endpoint string
	// AccessKey and SecretKey are the account's credentials. Both are
	// required.
	AccessKey, SecretKey string
	// Region is the signing region. Default sigv4.DefaultRegion
	// ("us-east-1").
	Region string
	// HTTPClient sends the requests. Default: a client with DefaultTimeout
	// over http.DefaultTransport.
	HTTPClient *http.Client
	// Now returns the signing time. Default time.Now; tests set it.
	Now func() time.Time
}

// Client calls the native API. Build it with New.
type Client struct {
	base   *url.URL
	creds  aws.Credentials
	region string
	http   *http.Client
	signer *v4.Signer
	now    func() time.Time
}

// New validates cfg and returns a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	u, err := ParseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("client: access key and secret key are required")
	}
	c := &Client{
		base:   u,
		creds:  aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey},
		region: cfg.Region,
		http:   cfg.HTTPClient,
		now:    cfg.Now,
		// The S3 service signs the path as sent, without the double
		// escaping other AWS services use.
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
	}
	if c.region == "" {
		c.region = sigv4.DefaultRegion
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// ParseEndpoint checks that s is an absolute http or https URL without query
// or fragment and returns it parsed.
func ParseEndpoint(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("endpoint is empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("endpoint %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("endpoint %q: must not have user info, query or fragment", s)
	}
	return u, nil
}

// do sends a signed request for the API path p (already escaped, starting
// with "/api/"). A non-nil in is sent as JSON; a non-nil out receives the
// decoded JSON response. Responses outside 2xx become *Error.
func (c *Client) do(ctx context.Context, method, p string, in, out any) error {
	resp, err := c.send(ctx, c.http, method, p, in, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("client: read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: decode %s %s response: %w", method, p, err)
	}
	return nil
}

// send signs and sends a request with hc and returns the response, whose
// body the caller must close. Non-2xx answers are returned as is.
func (c *Client) send(ctx context.Context, hc *http.Client, method, p string, in any, accept string) (*http.Response, error) {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("client: encode request: %w", err)
		}
		body = b
	}
	u := *c.base
	path, query, _ := strings.Cut(p, "?")
	u.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/") + path
	u.RawQuery = query
	pu, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("client: bad path %q: %w", p, err)
	}
	u.Path = pu
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if body == nil {
		req.Body = http.NoBody
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		req.ContentLength = 0
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	if err := c.sign(ctx, req, body); err != nil {
		return nil, err
	}
	return hc.Do(req)
}

// sign adds x-amz-content-sha256, x-amz-date and Authorization to req.
func (c *Client) sign(ctx context.Context, req *http.Request, body []byte) error {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hash, "s3", c.region, c.now().UTC()); err != nil {
		return fmt.Errorf("client: sign request: %w", err)
	}
	return nil
}
