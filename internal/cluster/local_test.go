package cluster

import (
	"context"
	"log/slog"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store/local"
)

// openTestLocal opens a local engine in a temporary directory, closed at
// the test's end.
func openTestLocal(t *testing.T) *local.Engine {
	t.Helper()
	l, err := local.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
