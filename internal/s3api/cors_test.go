package s3api

import (
	"errors"
	"testing"
)

func TestCORSMatch(t *testing.T) {
	rules, err := parseCORS([]byte(`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
		<CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>X-Amz-*</AllowedHeader></CORSRule>
		<CORSRule><AllowedOrigin>http://localhost:*</AllowedOrigin><AllowedMethod>POST</AllowedMethod><AllowedHeader>*</AllowedHeader></CORSRule>
		<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>
	</CORSConfiguration>`))
	if err != nil {
		t.Fatal(err)
	}
	c := &corsConfig{rules: rules}
	for _, tc := range []struct {
		q     corsQuery
		allow string
	}{
		{corsQuery{origin: "https://a.example.com", method: "GET", headers: []string{"x-amz-date"}}, "https://a.example.com"},
		{corsQuery{origin: "https://a.example.com", method: "GET", headers: []string{"content-type"}}, ""},
		{corsQuery{origin: "https://example.com", method: "GET"}, ""},
		{corsQuery{origin: "http://a.example.com", method: "GET"}, ""},
		{corsQuery{origin: "http://localhost:8080", method: "POST", headers: []string{"anything", "else"}}, "http://localhost:8080"},
		{corsQuery{origin: "http://localhost:8080", method: "PUT"}, ""},
		{corsQuery{origin: "null", method: "HEAD"}, "*"},
	} {
		_, allow := c.match(tc.q)
		if allow != tc.allow {
			t.Errorf("%+v: allow %q, want %q", tc.q, allow, tc.allow)
		}
	}
}

// FuzzCORSConfig feeds arbitrary PutBucketCors bodies to the parser and
// matches any request against what it accepts: no panic, only S3 errors,
// and an accepted configuration holds 1..100 valid rules.
func FuzzCORSConfig(f *testing.F) {
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>https://*.a.b</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>x-*</AllowedHeader><MaxAgeSeconds>5</MaxAgeSeconds></CORSRule></CORSConfiguration>`), "https://x.a.b", "GET", "x-y")
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`), "o", "PATCH", "")
	f.Fuzz(func(t *testing.T, body []byte, origin, method, header string) {
		rules, err := parseCORS(body)
		if err != nil {
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if len(rules) == 0 || len(rules) > maxCORSRules {
			t.Fatalf("%d rules accepted", len(rules))
		}
		c := &corsConfig{rules: rules}
		if r, allow := c.match(corsQuery{origin: origin, method: method, headers: []string{header}}); r != nil && allow != "*" && allow != origin {
			t.Fatalf("allowed origin %q for %q", allow, origin)
		}
	})
}
