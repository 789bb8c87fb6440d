package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// lockFuzzNow is the fixed "now" the fuzz targets judge dates against.
var lockFuzzNow = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// wantLockError fails unless err is an *APIError with one of codes.
func wantLockError(t *testing.T, err error, codes ...string) {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an S3 error", err)
	}
	for _, c := range codes {
		if ae.Code == c {
			return
		}
	}
	t.Fatalf("error %v, want one of %v", err, codes)
}

// FuzzObjectLockBodies feeds arbitrary bodies to the three Object Lock
// XML parsers (ObjectLockConfiguration, Retention, LegalHold): they never
// panic, refuse with MalformedXML or InvalidArgument only, and what they
// accept keeps S3's rules (a known mode, exactly one positive period in
// range, a retain-until date after now) and round-trips through the XML
// insitu renders.
func FuzzObjectLockBodies(f *testing.F) {
	for _, s := range []string{
		`<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>1</Years><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2027-01-01T00:00:00.000Z</RetainUntilDate></Retention>`,
		`<Retention/>`, `<LegalHold><Status>ON</Status></LegalHold>`, `<LegalHold><Status>on</Status></LegalHold>`, ``, `<x/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if cfg, err := parseObjectLockConfig(body); err != nil {
			wantLockError(t, err, "MalformedXML", "InvalidArgument")
		} else {
			checkLockConfig(t, cfg)
		}
		if r, err := parseRetention(body, lockFuzzNow); err != nil {
			wantLockError(t, err, "MalformedXML", "InvalidArgument")
		} else if r.Mode != "" && (!validMode(r.Mode) || !r.RetainUntil.After(lockFuzzNow)) {
			t.Fatalf("accepted retention %+v", r)
		}
		if _, err := parseLegalHold(body); err != nil {
			wantLockError(t, err, "MalformedXML")
		}
	})
}

// checkLockConfig: an accepted configuration keeps S3's limits and reads
// back the same from the XML GetObjectLockConfiguration renders.
func checkLockConfig(t *testing.T, cfg store.ObjectLockConfig) {
	t.Helper()
	if !cfg.Enabled {
		t.Fatalf("accepted a configuration without ObjectLockEnabled: %+v", cfg)
	}
	if cfg.Mode != "" && (!validMode(cfg.Mode) || (cfg.Days > 0) == (cfg.Years > 0) ||
		cfg.Days < 0 || cfg.Days > maxRetentionDays || cfg.Years < 0 || cfg.Years > maxRetentionYears) {
		t.Fatalf("accepted %+v", cfg)
	}
	out, err := xml.Marshal(renderObjectLockConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	back, err := parseObjectLockConfig(out)
	if err != nil || back != cfg {
		t.Fatalf("round trip of %+v: %+v %v (%s)", cfg, back, err, out)
	}
}

// FuzzLockHeaders feeds arbitrary x-amz-object-lock-* header values to
// the write headers' parser: it never panics, refuses with InvalidArgument
// only, and what it accepts is a known mode with a date after now, or no
// retention, and a legal hold only for "ON".
func FuzzLockHeaders(f *testing.F) {
	f.Add("GOVERNANCE", "2027-01-01T00:00:00Z", "ON")
	f.Add("COMPLIANCE", "2027-01-01T00:00:00.123+02:00", "OFF")
	f.Add("", "", "ON")
	f.Add("GOVERNANCE", "yesterday", "")
	f.Add("", "2020-01-01T00:00:00Z", "maybe")
	f.Fuzz(func(t *testing.T, mode, until, hold string) {
		h := http.Header{}
		for k, v := range map[string]string{"x-amz-object-lock-mode": mode, "x-amz-object-lock-retain-until-date": until, "x-amz-object-lock-legal-hold": hold} {
			if v != "" {
				h.Set(k, v)
			}
		}
		var m store.ObjectMeta
		any, err := lockFromHeaders(h, &m, lockFuzzNow)
		if err != nil {
			wantLockError(t, err, "InvalidArgument")
			return
		}
		if any != (mode != "" || until != "" || hold != "") {
			t.Fatalf("any = %v for %q %q %q", any, mode, until, hold)
		}
		if m.LockMode != "" && (!validMode(m.LockMode) || !m.LockRetainUntil.After(lockFuzzNow)) {
			t.Fatalf("accepted %q until %v", m.LockMode, m.LockRetainUntil)
		}
		if m.LegalHold != (hold == "ON") {
			t.Fatalf("legal hold %v from %q", m.LegalHold, hold)
		}
	})
}
