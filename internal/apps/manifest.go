package apps

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// Manifest describes an app. Every field is optional.
type Manifest struct {
	Name         string            `json:"name,omitempty"`
	Version      string            `json:"version,omitempty"`
	Description  string            `json:"description,omitempty"`
	Args         []string          `json:"args,omitempty"`
	Env          map[string]string `json:"env,omitempty"`
	Limits       LimitSpec         `json:"limits,omitzero"`
	ContentTypes []string          `json:"content_types,omitempty"`
	Public       bool              `json:"public,omitempty"`
}

// LimitSpec is the human form of sandbox limits: sizes like "64MiB" and
// durations like "10s".
type LimitSpec struct {
	Memory      string `json:"memory,omitempty"`
	Timeout     string `json:"timeout,omitempty"`
	StdoutBytes string `json:"stdout,omitempty"`
	StderrBytes string `json:"stderr,omitempty"`
	OutFiles    int    `json:"out_files,omitempty"`
	OutBytes    string `json:"out,omitempty"`
	TmpFiles    int    `json:"tmp_files,omitempty"`
	TmpBytes    string `json:"tmp,omitempty"`
}

// ParseManifest decodes an app.json, refusing unknown fields.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	if _, err := m.Limits.Apply(sandbox.Limits{}); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// Apply overlays the fields set in s on base.
func (s LimitSpec) Apply(base sandbox.Limits) (sandbox.Limits, error) {
	var err error
	set := func(dst *int64, v, name string) {
		if v == "" || err != nil {
			return
		}
		var n int64
		if n, err = ParseSize(v); err != nil {
			err = fmt.Errorf("limits.%s: %w", name, err)
			return
		}
		*dst = n
	}
	set(&base.Memory, s.Memory, "memory")
	set(&base.StdoutBytes, s.StdoutBytes, "stdout")
	set(&base.StderrBytes, s.StderrBytes, "stderr")
	set(&base.OutBytes, s.OutBytes, "out")
	set(&base.TmpBytes, s.TmpBytes, "tmp")
	if err != nil {
		return base, err
	}
	if s.Timeout != "" {
		d, perr := time.ParseDuration(s.Timeout)
		if perr != nil || d <= 0 {
			return base, fmt.Errorf("limits.timeout: %q is not a positive duration", s.Timeout)
		}
		base.Timeout = d
	}
	if s.OutFiles > 0 {
		base.OutFiles = s.OutFiles
	}
	if s.TmpFiles > 0 {
		base.TmpFiles = s.TmpFiles
	}
	return base, nil
}

var sizeRE = regexp.MustCompile(`^(\d+)\s*([KMGT]I?B?|B)?$`) // matched upper-cased

// ParseSize parses "1048576", "64MiB", "64M", "1GiB", "512KB" (binary units
// throughout: K = 1024).
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	if m == nil {
		return 0, fmt.Errorf("size %q: want a number with an optional unit (KiB, MiB, GiB, TiB)", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	shift := 0
	if u := m[2]; u != "" && u != "B" {
		shift = 10 * (strings.IndexByte("KMGT", u[0]) + 1)
	}
	if n > (1<<62)>>shift {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n << shift, nil
}
