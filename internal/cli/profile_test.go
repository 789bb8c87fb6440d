package cli

import (
	"reflect"
	"testing"
)

func TestParseINI(t *testing.T) {
	in := `# insitu config
; another comment

[default]
endpoint = http://127.0.0.1:8773
Access_Key=AKDEF
secret_key = "quoted secret "

[profile prod]
endpoint = https://s3.example.com
region = 'eu-west-1'
empty =
`
	got, err := parseINI([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"default": {"endpoint": "http://127.0.0.1:8773", "access_key": "AKDEF", "secret_key": "quoted secret "},
		"prod":    {"endpoint": "https://s3.example.com", "region": "eu-west-1", "empty": ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseINI = %v\nwant %v", got, want)
	}
}

func TestParseINIErrors(t *testing.T) {
	for _, in := range []string{
		"endpoint = x\n",        // outside a section
		"[default]\nnot a kv\n", // no '='
		"[]\n",                  // empty name
		"[default]\n= v\n",      // empty key
	} {
		if _, err := parseINI([]byte(in)); err == nil {
			t.Errorf("parseINI(%q) succeeded, want error", in)
		}
	}
}

func TestSetProfile(t *testing.T) {
	tests := []struct {
		name, in, profile string
		values            [][2]string
		want              string
	}{
		{
			name: "empty file", profile: "default",
			values: [][2]string{{"endpoint", "http://h"}, {"access_key", "AK"}},
			want:   "[default]\nendpoint = http://h\naccess_key = AK\n",
		},
		{
			name:    "update in place and append missing",
			in:      "# top\n[default]\nendpoint = old # keep?\nregion = r1\n\n[other]\nendpoint = x\n",
			profile: "default",
			values:  [][2]string{{"endpoint", "new"}, {"secret_key", "S"}},
			want:    "# top\n[default]\nendpoint = new\nregion = r1\nsecret_key = S\n\n[other]\nendpoint = x\n",
		},
		{
			name: "new profile appended", in: "[default]\nendpoint = a\n", profile: "prod",
			values: [][2]string{{"endpoint", "b"}},
			want:   "[default]\nendpoint = a\n\n[prod]\nendpoint = b\n",
		},
		{
			name: "profile-prefixed header", in: "[profile prod]\n; c\nregion = x\n", profile: "prod",
			values: [][2]string{{"region", "y"}},
			want:   "[profile prod]\n; c\nregion = y\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(setProfile([]byte(tt.in), tt.profile, tt.values))
			if got != tt.want {
				t.Errorf("setProfile =\n%s\nwant\n%s", got, tt.want)
			}
			parsed, err := parseINI([]byte(got))
			if err != nil {
				t.Fatalf("result does not parse: %v", err)
			}
			for _, kv := range tt.values {
				if parsed[tt.profile][kv[0]] != kv[1] {
					t.Errorf("parsed %s.%s = %q, want %q", tt.profile, kv[0], parsed[tt.profile][kv[0]], kv[1])
				}
			}
		})
	}
}
