package lifecycle

import (
	"slices"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestAfter: S3 adds the days and rounds up to the next midnight UTC.
func TestAfter(t *testing.T) {
	for _, tc := range []struct {
		made string
		days int
		want string
	}{
		{"2026-01-01T10:30:00Z", 1, "2026-01-03T00:00:00Z"},
		{"2026-01-01T00:00:00Z", 1, "2026-01-02T00:00:00Z"},
		{"2026-01-31T23:59:59Z", 30, "2026-03-03T00:00:00Z"},
		{"2026-03-01T01:00:00+02:00", 1, "2026-03-02T00:00:00Z"}, // 23:00 UTC on Feb 28, +1 day, rounded up
	} {
		if got := After(day(tc.made), tc.days); !got.Equal(day(tc.want)) {
			t.Errorf("After(%s, %d) = %s, want %s", tc.made, tc.days, got, tc.want)
		}
	}
}

func TestExpiresCurrent(t *testing.T) {
	made := day("2026-01-01T10:30:00Z")
	r := Rule{Enabled: true, Filter: Filter{Prefix: "logs/", SizeGreater: 10, SizeLess: 100}, ExpireDays: 1}
	for _, tc := range []struct {
		name string
		rule Rule
		key  string
		size int64
		now  string
		want bool
	}{
		{"due", r, "logs/a", 50, "2026-01-03T00:00:00Z", true},
		{"a second early", r, "logs/a", 50, "2026-01-02T23:59:59Z", false},
		{"other prefix", r, "data/a", 50, "2026-02-01T00:00:00Z", false},
		{"too small", r, "logs/a", 10, "2026-02-01T00:00:00Z", false},
		{"too large", r, "logs/a", 100, "2026-02-01T00:00:00Z", false},
		{"disabled", Rule{Filter: r.Filter, ExpireDays: 1}, "logs/a", 50, "2026-02-01T00:00:00Z", false},
		{"by date, before", Rule{Enabled: true, ExpireDate: day("2026-06-01T00:00:00Z")}, "x", 1, "2026-05-31T23:59:59Z", false},
		{"by date, on it", Rule{Enabled: true, ExpireDate: day("2026-06-01T00:00:00Z")}, "x", 1, "2026-06-01T00:00:00Z", true},
		{"no expiration action", Rule{Enabled: true, AbortDays: 1}, "x", 1, "2027-01-01T00:00:00Z", false},
	} {
		if got := tc.rule.ExpiresCurrent(tc.key, tc.size, made, day(tc.now)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestExpiresNoncurrentAndAborts(t *testing.T) {
	since := day("2026-01-01T10:30:00Z")
	r := Rule{Enabled: true, NoncurrentDays: 2, NewerNoncurrent: 1, AbortDays: 3, Filter: Filter{Prefix: "p/"}}
	due := day("2026-01-04T00:00:00Z")
	if r.ExpiresNoncurrent("p/k", 1, since, 0, due) {
		t.Error("the newest noncurrent version was expired though NewerNoncurrent keeps one")
	}
	if !r.ExpiresNoncurrent("p/k", 1, since, 1, due) || r.ExpiresNoncurrent("p/k", 1, since, 1, due.Add(-time.Second)) {
		t.Error("second-newest noncurrent version: wrong due time")
	}
	if r.AbortsUpload("p/k", since, day("2026-01-04T23:59:59Z")) || !r.AbortsUpload("p/k", since, day("2026-01-05T00:00:00Z")) {
		t.Error("upload abort: wrong due time")
	}
	if r.AbortsUpload("q/k", since, day("2027-01-01T00:00:00Z")) {
		t.Error("upload outside the prefix aborted")
	}
}

func TestPrefixes(t *testing.T) {
	rs := Rules{
		{Enabled: true, Filter: Filter{Prefix: "logs/2026/"}, ExpireDays: 1},
		{Enabled: true, Filter: Filter{Prefix: "b/"}, ExpireDays: 1},
		{Enabled: true, Filter: Filter{Prefix: "logs/"}, ExpireDays: 5},
		{Enabled: true, Filter: Filter{Prefix: "b/"}, ExpireDays: 9},
		{Enabled: false, Filter: Filter{Prefix: "off/"}, ExpireDays: 1},
		{Enabled: true, Filter: Filter{Prefix: "up/"}, AbortDays: 1},
	}
	if got := rs.Prefixes(ExpiresObjects); !slices.Equal(got, []string{"b/", "logs/"}) {
		t.Errorf("object prefixes %q", got)
	}
	if got := rs.Prefixes(AbortsUploads); !slices.Equal(got, []string{"up/"}) {
		t.Errorf("upload prefixes %q", got)
	}
	if got := append(rs, Rule{Enabled: true, ExpireDays: 1}).Prefixes(ExpiresObjects); !slices.Equal(got, []string{""}) {
		t.Errorf("a whole-bucket rule: %q", got)
	}
}
