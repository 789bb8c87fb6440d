package s3api

import (
	"encoding/json"
	"encoding/xml"
	"testing"
	"time"
)

// FuzzLifecycle feeds arbitrary bodies to the lifecycle configuration
// parser: it must never panic, what it accepts must hold S3's limits, and
// the stored form must render and round-trip unchanged.
func FuzzLifecycle(f *testing.F) {
	f.Add([]byte(`<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>`))
	f.Add([]byte(`<LifecycleConfiguration><Rule><Status>Disabled</Status><Filter><And><Prefix>t/</Prefix><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>`))
	f.Add([]byte(`<LifecycleConfiguration><Rule><Status>Enabled</Status><Prefix></Prefix><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>`))
	f.Add([]byte(`<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter/><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rules, err := parseLifecycle(body)
		if err != nil {
			return
		}
		if len(rules) == 0 || len(rules) > maxLifecycleRules {
			t.Fatalf("accepted %d rules", len(rules))
		}
		for _, r := range rules {
			acts := r.ExpireDays > 0 || !r.ExpireDate.IsZero() || r.ExpiredObjectDeleteMarker || r.NoncurrentDays > 0 || r.AbortDays > 0
			if !acts || r.ExpireDays < 0 || r.NoncurrentDays < 0 || r.AbortDays < 0 || len(r.ID) > maxLifecycleID {
				t.Fatalf("accepted rule %+v", r)
			}
			if !r.ExpireDate.IsZero() && !r.ExpireDate.Equal(r.ExpireDate.Truncate(24*time.Hour)) {
				t.Fatalf("accepted a date not at midnight: %v", r.ExpireDate)
			}
			if r.Filter.SizeLess > 0 && r.Filter.SizeGreater >= r.Filter.SizeLess {
				t.Fatalf("accepted an empty size range %+v", r.Filter)
			}
		}
		out, err := xml.Marshal(renderLifecycle(rules))
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseLifecycle(out)
		if err != nil {
			t.Fatalf("rendered rules do not parse: %v\n%s", err, out)
		}
		a, _ := json.Marshal(rules)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Fatalf("round trip changed the rules:\n%s\n%s", a, b)
		}
	})
}
