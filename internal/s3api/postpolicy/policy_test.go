package postpolicy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

const doc = `{"expiration": "2026-11-30T01:00:00.000Z", "conditions": [
	{"bucket": "b"},
	["starts-with", "$key", "user/"],
	["eq", "$Content-Type", "text/plain"],
	["content-length-range", 1, "1024"],
	{"x-amz-meta-tag": "v"},
	["starts-with", "$success_action_status", ""]
]}`

func TestParseAndCheck(t *testing.T) {
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasLength || p.MinLength != 1 || p.MaxLength != 1024 || len(p.Conditions) != 5 {
		t.Fatalf("parsed %+v", p)
	}
	ok := map[string]string{"bucket": "b", "key": "user/a.txt", "content-type": "text/plain", "x-amz-meta-tag": "v",
		"policy": "x", "x-amz-signature": "y", "x-ignore-me": "z"}
	if err := p.Check(now, ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(map[string]string)
		at     time.Time
		want   string
	}{
		{"expired", func(map[string]string) {}, now.Add(time.Hour), "Policy expired."},
		{"starts-with", func(f map[string]string) { f["key"] = "other/a" }, now, `Policy Condition failed: ["starts-with", "$key", "user/"]`},
		{"eq", func(f map[string]string) { f["content-type"] = "text/html" }, now, `["eq", "$content-type", "text/plain"]`},
		{"missing field", func(f map[string]string) { delete(f, "x-amz-meta-tag") }, now, `$x-amz-meta-tag`},
		{"bucket", func(f map[string]string) { f["bucket"] = "c" }, now, `$bucket`},
		{"extra", func(f map[string]string) { f["x-amz-meta-more"] = "1"; f["acl"] = "public-read" }, now, "Extra input fields: acl, x-amz-meta-more"},
	} {
		f := map[string]string{}
		for k, v := range ok {
			f[k] = v
		}
		tc.change(f)
		err := p.Check(tc.at, f)
		var pe *Error
		if !errors.As(err, &pe) || pe.Invalid || !strings.Contains(pe.Message, tc.want) || !strings.HasPrefix(pe.Message, "Invalid according to Policy: ") {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, d := range []string{
		``, `[]`, `{"conditions": []}`, `{"expiration": "tomorrow"}`,
		`{"expiration": "2026-11-30T01:00:00Z", "conditions": [["eq", "key", "a"]]}`,
		`{"expiration": "2026-11-30T01:00:00Z", "conditions": [["in", "$key", "a"]]}`,
		`{"expiration": "2026-11-30T01:00:00Z", "conditions": [["content-length-range", 5, 1]]}`,
		`{"expiration": "2026-11-30T01:00:00Z", "conditions": [["content-length-range", -1, 1]]}`,
		`{"expiration": "2026-11-30T01:00:00Z", "conditions": [["content-length-range", 1.5, 2]]}`,
		`{"expiration": "2026-11-30T01:00:00Z", "conditions": [{"key": 1}]}`,
		`{"expiration": "2026-11-30T01:00:00Z", "conditions": [["eq", "$key"]]}`,
	} {
		_, err := Parse([]byte(d))
		var pe *Error
		if !errors.As(err, &pe) || !pe.Invalid {
			t.Errorf("Parse(%s) = %v, want an invalid policy", d, err)
		}
	}
}

// FuzzPolicy parses any document and checks any form against it: no
// panic, every refusal an *Error, and a policy that accepts a form still
// accepts it (Check is deterministic).
func FuzzPolicy(f *testing.F) {
	f.Add([]byte(doc), "key", "user/x", int64(0))
	f.Add([]byte(`{"expiration":"2026-11-30T00:00:01Z","conditions":[{"a":"b"},["starts-with","$Content-Type","image/"]]}`), "content-type", "image/png, text/x", int64(5))
	f.Fuzz(func(t *testing.T, d []byte, field, value string, offset int64) {
		p, err := Parse(d)
		var pe *Error
		if err != nil {
			if !errors.As(err, &pe) || !pe.Invalid {
				t.Fatalf("Parse error %T %v", err, err)
			}
			return
		}
		fields := map[string]string{"bucket": "b", strings.ToLower(field): value}
		at := now.Add(time.Duration(offset % int64(1000*time.Hour)))
		err = p.Check(at, fields)
		if err != nil && (!errors.As(err, &pe) || pe.Invalid) {
			t.Fatalf("Check error %T %v", err, err)
		}
		if err == nil && p.Check(at, fields) != nil {
			t.Fatal("Check is not deterministic")
		}
	})
}
