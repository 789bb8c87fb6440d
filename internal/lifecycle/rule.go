package lifecycle

import (
	"slices"
	"strings"
	"time"
)

// Rule is one lifecycle rule, validated (the S3 face refuses what S3
// refuses). It is stored as JSON under the bucket's lifecycle key.
type Rule struct {
	ID      string `json:"id,omitempty"`
	Enabled bool   `json:"enabled"`
	Filter  Filter `json:"filter"`
	// LegacyPrefix records a rule put with the deprecated top-level Prefix
	// instead of Filter (the old PutBucketLifecycle), shown back that way.
	LegacyPrefix bool `json:"legacy_prefix,omitempty"`
	// Expiration of current versions: after Days days (0: not by age), or
	// from Date on (zero: not by date); ExpiredObjectDeleteMarker removes
	// a delete marker that has no older version left behind it.
	ExpireDays                int       `json:"expire_days,omitempty"`
	ExpireDate                time.Time `json:"expire_date,omitzero"`
	ExpiredObjectDeleteMarker bool      `json:"expired_object_delete_marker,omitempty"`
	// NoncurrentDays > 0 expires a version that many days after it became
	// noncurrent, keeping the NewerNoncurrent newest noncurrent versions.
	NoncurrentDays  int `json:"noncurrent_days,omitempty"`
	NewerNoncurrent int `json:"newer_noncurrent,omitempty"`
	// AbortDays > 0 aborts a multipart upload that many days after it was
	// initiated.
	AbortDays int `json:"abort_days,omitempty"`
}

// Filter selects the objects a rule applies to: every condition set must
// hold. The zero Filter selects every object.
type Filter struct {
	Prefix string `json:"prefix,omitempty"`
	// SizeGreater and SizeLess bound the object's size (exclusive); 0 is
	// no bound.
	SizeGreater int64 `json:"size_greater,omitempty"`
	SizeLess    int64 `json:"size_less,omitempty"`
}

// Matches reports whether an object of that key and size is selected.
func (f Filter) Matches(key string, size int64) bool {
	return strings.HasPrefix(key, f.Prefix) &&
		(f.SizeGreater == 0 || size > f.SizeGreater) &&
		(f.SizeLess == 0 || size < f.SizeLess)
}

// After is S3's "N days after t": t plus days, rounded up to the next
// midnight UTC (an object made at 10:30 on the 1st with Days 1 expires
// at 00:00 on the 3rd).
func After(t time.Time, days int) time.Time {
	d := t.UTC().AddDate(0, 0, days)
	mid := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	if mid.Equal(d) {
		return mid
	}
	return mid.AddDate(0, 0, 1)
}

// ExpiresCurrent reports whether a current object of that key, size and
// modification time is expired at now under r.
func (r Rule) ExpiresCurrent(key string, size int64, modified, now time.Time) bool {
	if !r.Enabled || !r.Filter.Matches(key, size) {
		return false
	}
	if r.ExpireDays > 0 && !now.Before(After(modified, r.ExpireDays)) {
		return true
	}
	return !r.ExpireDate.IsZero() && !now.Before(r.ExpireDate)
}

// ExpiresNoncurrent reports whether a noncurrent version that became
// noncurrent at since, with newer noncurrent versions newer than it
// (0 for the newest noncurrent one), is expired at now under r.
func (r Rule) ExpiresNoncurrent(key string, size int64, since time.Time, newer int, now time.Time) bool {
	if !r.Enabled || r.NoncurrentDays <= 0 || !r.Filter.Matches(key, size) {
		return false
	}
	return newer >= r.NewerNoncurrent && !now.Before(After(since, r.NoncurrentDays))
}

// AbortsUpload reports whether an upload of key initiated at that time
// is to be aborted at now under r. Size filters never match an upload
// (S3 refuses them with AbortIncompleteMultipartUpload).
func (r Rule) AbortsUpload(key string, initiated, now time.Time) bool {
	if !r.Enabled || r.AbortDays <= 0 || !strings.HasPrefix(key, r.Filter.Prefix) {
		return false
	}
	return !now.Before(After(initiated, r.AbortDays))
}

// Rules is a bucket's configuration.
type Rules []Rule

// ExpiresCurrent reports whether any rule expires the current object.
func (rs Rules) ExpiresCurrent(key string, size int64, modified, now time.Time) bool {
	for _, r := range rs {
		if r.ExpiresCurrent(key, size, modified, now) {
			return true
		}
	}
	return false
}

// AbortsUpload reports whether any rule aborts the upload.
func (rs Rules) AbortsUpload(key string, initiated, now time.Time) bool {
	for _, r := range rs {
		if r.AbortsUpload(key, initiated, now) {
			return true
		}
	}
	return false
}

// ExpiresNoncurrent reports whether any rule expires the noncurrent
// version (see Rule.ExpiresNoncurrent).
func (rs Rules) ExpiresNoncurrent(key string, size int64, since time.Time, newer int, now time.Time) bool {
	for _, r := range rs {
		if r.ExpiresNoncurrent(key, size, since, newer, now) {
			return true
		}
	}
	return false
}

// ExpiresMarker reports whether a rule removes an expired delete marker
// of key (one with no older version behind it; size filters do not
// apply to markers).
func (rs Rules) ExpiresMarker(key string) bool {
	for _, r := range rs {
		if r.Enabled && r.ExpiredObjectDeleteMarker && strings.HasPrefix(key, r.Filter.Prefix) {
			return true
		}
	}
	return false
}

// ExpiresObjects, ExpiresVersions and AbortsUploads pick the rules of a
// pass's phases (Prefixes): current objects, noncurrent versions and
// delete markers, multipart uploads.
func ExpiresObjects(r Rule) bool  { return r.ExpireDays > 0 || !r.ExpireDate.IsZero() }
func ExpiresVersions(r Rule) bool { return r.NoncurrentDays > 0 || r.ExpiredObjectDeleteMarker }
func AbortsUploads(r Rule) bool   { return r.AbortDays > 0 }

// Prefixes is the smallest set of key prefixes that covers every enabled
// rule with the action acts ("" when one rule covers the bucket), so a
// pass lists only what some rule may touch. They are sorted and none is
// a prefix of another, so every key under one sorts before every key
// under the next (a resumed pass relies on it).
func (rs Rules) Prefixes(acts func(Rule) bool) []string {
	var ps []string
	for _, r := range rs {
		if r.Enabled && acts(r) {
			ps = append(ps, r.Filter.Prefix)
		}
	}
	out := coverPrefixes(ps)
	slices.Sort(out)
	return out
}

// coverPrefixes drops every prefix another one in ps already covers.
func coverPrefixes(ps []string) []string {
	var out []string
	for i, p := range ps {
		covered := false
		for j, q := range ps {
			if i != j && strings.HasPrefix(p, q) && (len(q) < len(p) || j < i) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}
