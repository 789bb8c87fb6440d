package app_test

import (
	"testing"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestMain lets this test binary double as the sandbox worker of the nodes
// its tests start.
func TestMain(m *testing.M) { apptest.Main(m) }
