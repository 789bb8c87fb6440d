package s3api

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestCappedBody checks the size limit of a body sent without a length:
// exactly the cap passes, one byte more fails with EntityTooLarge.
func TestCappedBody(t *testing.T) {
	for _, tc := range []struct {
		n       int
		wantErr bool
	}{{10, false}, {9, false}, {11, true}, {100, true}} {
		c := &cappedBody{ReadCloser: io.NopCloser(strings.NewReader(strings.Repeat("x", tc.n))), left: 10}
		b, err := io.ReadAll(c)
		if tc.wantErr != errors.Is(err, errEntityTooLarge) || (!tc.wantErr && len(b) != tc.n) {
			t.Errorf("%d bytes: read %d, err %v", tc.n, len(b), err)
		}
	}
}
