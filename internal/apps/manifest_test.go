package apps

import (
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"64MiB", 64 << 20, true},
		{"64mib", 64 << 20, true},
		{"64M", 64 << 20, true},
		{"1GiB", 1 << 30, true},
		{"512KB", 512 << 10, true},
		{"10B", 10, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5GiB", 0, false},
		{"99999999999TiB", 0, false},
		{"12 parsecs", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(`{"name":"wc","version":"1.0.0","args":["-l"],"limits":{"memory":"32MiB","timeout":"3s"},"content_types":["text/*"]}`))
	if err != nil {
		t.Fatal(err)
	}
	l, err := m.Limits.Apply(DefaultTestLimits())
	if err != nil || l.Memory != 32<<20 || l.Timeout != 3*time.Second || l.StdoutBytes != 7 {
		t.Fatalf("limits %+v %v", l, err)
	}
	for _, bad := range []string{`{"nope":1}`, `{"limits":{"memory":"lots"}}`, `{"limits":{"timeout":"-1s"}}`, `not json`} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("ParseManifest(%s) accepted", bad)
		}
	}
}

// DefaultTestLimits is a base whose untouched fields are recognizable.
func DefaultTestLimits() sandbox.Limits { return sandbox.Limits{StdoutBytes: 7} }
