package images_test

import (
	"testing"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestMain lets this test binary double as the sandbox worker of the node
// the tiny image test starts.
func TestMain(m *testing.M) { apptest.Main(m) }
