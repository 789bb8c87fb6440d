package sigv4

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

const (
	exampleAccessKey = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// exampleTime is the timestamp of every worked example in AWS's docs.
var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// mapKeys is a KeyStore over a map of access key to secret.
type mapKeys map[string]string

func (m mapKeys) Lookup(_ context.Context, ak string) (Credential, error) {
	s, ok := m[ak]
	if !ok {
		return Credential{}, fmt.Errorf("key %q: %w", ak, ErrUnknownKey)
	}
	return Credential{AccessKey: ak, Secret: s, Account: "acct-" + ak}, nil
}

func exampleVerifier(now time.Time) *Verifier {
	return &Verifier{Keys: mapKeys{exampleAccessKey: exampleSecret}, Now: func() time.Time { return now }}
}

// errCode returns the S3 code of err, or "" when it is not an *Error.
func errCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// readAllSmall reads r in pieces of n bytes, to exercise partial reads.
func readAllSmall(r io.Reader, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// mustVerify verifies r and reads its whole body.
func mustVerify(t *testing.T, v *Verifier, r *http.Request) (*Result, []byte) {
	t.Helper()
	res, err := v.Verify(context.Background(), r)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return res, body
}

func timeSeconds(s int64) time.Duration { return time.Duration(s) * time.Second }
