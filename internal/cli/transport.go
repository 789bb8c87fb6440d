package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/spf13/cobra"

	"github.com/insitu-cloud/insitu/internal/client"
)

// Client-side timeouts. A transfer as a whole is unbounded (objects can be
// large); each phase of a request is not.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 10 * time.Minute // server-side copies answer late
	idleConnTimeout       = 90 * time.Second
	// s3PartSize is the part size for uploads of unknown length (stdin);
	// it bounds memory use and allows objects up to 10,000 parts.
	s3PartSize = 16 << 20
	// s3MaxRetries bounds minio-go's retries of a failed request (its
	// default, 10, makes an unreachable endpoint take seconds to report).
	s3MaxRetries = 3
)

// newTransport returns an HTTP transport honouring --insecure and --ca-cert.
func newTransport(st Settings) (*http.Transport, error) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		// minio-go compresses nothing; let bodies pass untouched.
		DisableCompression: true,
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: st.Insecure} //nolint:gosec // the user asked for it
	if st.CACert != "" {
		pem, err := os.ReadFile(st.CACert)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificates found", st.CACert)
		}
		cfg.RootCAs = pool
	}
	tr.TLSClientConfig = cfg
	return tr, nil
}

// requireKeys fails with a hint when credentials are missing.
func requireKeys(st Settings) error {
	if st.AccessKey == "" || st.SecretKey == "" {
		return errors.New("no credentials: set --access-key and --secret-key, INSITU_ACCESS_KEY and INSITU_SECRET_KEY, or a profile (insitu configure)")
	}
	return nil
}

// s3 resolves the settings of cmd and returns a path-style S3 client.
func (g *globals) s3(cmd *cobra.Command) (*minio.Client, Settings, error) {
	st, err := g.resolve(cmd.Flags())
	if err != nil {
		return nil, st, err
	}
	if err := requireKeys(st); err != nil {
		return nil, st, err
	}
	u, err := client.ParseEndpoint(st.Endpoint)
	if err != nil {
		return nil, st, err
	}
	if u.Path != "" && u.Path != "/" {
		return nil, st, fmt.Errorf("endpoint %q: the S3 API needs an endpoint without a path", st.Endpoint)
	}
	tr, err := newTransport(st)
	if err != nil {
		return nil, st, err
	}
	mc, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(st.AccessKey, st.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       st.Region,
		BucketLookup: minio.BucketLookupPath,
		Transport:    tr,
		MaxRetries:   s3MaxRetries,
	})
	if err != nil {
		return nil, st, err
	}
	return mc, st, nil
}

// api resolves the settings of cmd and returns a native API client.
func (g *globals) api(cmd *cobra.Command) (*client.Client, error) {
	st, err := g.resolve(cmd.Flags())
	if err != nil {
		return nil, err
	}
	if err := requireKeys(st); err != nil {
		return nil, err
	}
	tr, err := newTransport(st)
	if err != nil {
		return nil, err
	}
	return client.New(client.Config{
		Endpoint:   st.Endpoint,
		AccessKey:  st.AccessKey,
		SecretKey:  st.SecretKey,
		Region:     st.Region,
		HTTPClient: &http.Client{Transport: tr, Timeout: client.DefaultTimeout},
	})
}
