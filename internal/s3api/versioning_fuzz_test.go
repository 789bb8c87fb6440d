package s3api

import (
	"errors"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// FuzzVersioningConfiguration feeds arbitrary bodies to the
// PutBucketVersioning parser: it never panics, accepts only Enabled or
// Suspended, and refuses with one of the S3 errors it documents.
func FuzzVersioningConfiguration(f *testing.F) {
	for _, s := range []string{
		`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>`,
		`<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`,
		`<VersioningConfiguration><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>`,
		`<VersioningConfiguration/>`, `<X/>`, ``, `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration><x/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := parseVersioningConfiguration(body)
		if err == nil {
			if st != store.VersioningEnabled && st != store.VersioningSuspended {
				t.Fatalf("accepted state %q", st)
			}
			return
		}
		var ae *APIError
		if !errors.As(err, &ae) || (ae.Code != "MalformedXML" && ae.Code != "IllegalVersioningConfigurationException" && ae.Code != "NotImplemented") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestParseVersioningConfiguration(t *testing.T) {
	for body, want := range map[string]string{
		`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`:                         "Enabled",
		`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`:                       "Suspended",
		`<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>`:                         "IllegalVersioningConfigurationException",
		`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>junk`:                     "MalformedXML",
		`<VersioningConfiguration><Status>Enabled</Status><MfaDelete>x</MfaDelete></VersioningConfiguration>`: "IllegalVersioningConfigurationException",
	} {
		st, err := parseVersioningConfiguration([]byte(body))
		got := st
		if err != nil {
			got = toAPIError(err).Code
		}
		if got != want {
			t.Errorf("%s: %s, want %s", body, got, want)
		}
	}
}
