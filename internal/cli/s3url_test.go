package cli

import "testing"

func TestParseLocation(t *testing.T) {
	tests := []struct {
		arg     string
		want    location
		wantErr bool
	}{
		{arg: "s3://bucket", want: location{s3: true, bucket: "bucket"}},
		{arg: "s3://bucket/", want: location{s3: true, bucket: "bucket"}},
		{arg: "s3://bucket/key", want: location{s3: true, bucket: "bucket", key: "key"}},
		{arg: "s3://bucket/dir/", want: location{s3: true, bucket: "bucket", key: "dir/"}},
		{arg: "s3://bucket/a/b/c.txt", want: location{s3: true, bucket: "bucket", key: "a/b/c.txt"}},
		{arg: "s3://bucket//double", want: location{s3: true, bucket: "bucket", key: "/double"}},
		{arg: `s3://b/&+-é"/x y`, want: location{s3: true, bucket: "b", key: `&+-é"/x y`}},
		{arg: "s3://b/100%25", want: location{s3: true, bucket: "b", key: "100%25"}}, // not URL-decoded
		{arg: "S3://Bucket/K", want: location{s3: true, bucket: "Bucket", key: "K"}},
		{arg: "s3://", wantErr: true},
		{arg: "s3:///key", wantErr: true},
		{arg: "", wantErr: true},
		{arg: "-", want: location{path: "-"}},
		{arg: "file.txt", want: location{path: "file.txt"}},
		{arg: "./dir/", want: location{path: "./dir/"}},
		{arg: "/abs/path", want: location{path: "/abs/path"}},
		{arg: "s3:/notscheme", want: location{path: "s3:/notscheme"}},
		{arg: "bucket/key", want: location{path: "bucket/key"}},
	}
	for _, tt := range tests {
		got, err := parseLocation(tt.arg)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseLocation(%q) error = %v, wantErr %v", tt.arg, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("parseLocation(%q) = %+v, want %+v", tt.arg, got, tt.want)
		}
	}
}

func TestParseS3Forms(t *testing.T) {
	if _, err := parseS3("local/path"); err == nil {
		t.Error("parseS3 accepted a local path")
	}
	if b, err := parseBucket("s3://b/"); err != nil || b != "b" {
		t.Errorf("parseBucket(s3://b/) = %q, %v", b, err)
	}
	if _, err := parseBucket("s3://b/k"); err == nil {
		t.Error("parseBucket accepted a key")
	}
	if _, err := parseObject("s3://b"); err == nil {
		t.Error("parseObject accepted a bucket")
	}
	if l, err := parseObject("s3://b/k/"); err != nil || l.key != "k/" {
		t.Errorf("parseObject(s3://b/k/) = %+v, %v", l, err)
	}
}

func TestKeyHelpers(t *testing.T) {
	for _, tt := range []struct{ key, base, prefix string }{
		{"", ".", ""},
		{"a", "a", "a/"},
		{"a/", "a", "a/"},
		{"a/b/c.txt", "c.txt", "a/b/c.txt/"},
		{"dir/sub/", "sub", "dir/sub/"},
	} {
		if got := keyBase(tt.key); got != tt.base {
			t.Errorf("keyBase(%q) = %q, want %q", tt.key, got, tt.base)
		}
		if got := asPrefix(tt.key); got != tt.prefix {
			t.Errorf("asPrefix(%q) = %q, want %q", tt.key, got, tt.prefix)
		}
	}
	if !isDirLike("") || !isDirLike("d/") || isDirLike("d") {
		t.Error("isDirLike wrong")
	}
}

func TestCheckCpOperands(t *testing.T) {
	loc := func(s string) location {
		l, err := parseLocation(s)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tests := []struct {
		src, dst  string
		recursive bool
		ok        bool
	}{
		{"a.txt", "s3://b/", false, true},
		{"a.txt", "s3://b/k", false, true},
		{"s3://b/k", ".", false, true},
		{"s3://b/k", "-", false, true},
		{"s3://b/k", "s3://c/", false, true},
		{"-", "s3://b/k", false, true},
		{"dir", "s3://b/p", true, true},
		{"s3://b/p", "dir", true, true},
		{"s3://b", "dir", true, true},
		{"a.txt", "b.txt", false, false},
		{"-", "s3://b/", false, false},
		{"-", "s3://b", false, false},
		{"-", "s3://b/k", true, false},
		{"s3://b/k", "-", true, false},
		{"s3://b/dir/", "x", false, false},
		{"s3://b", "x", false, false},
	}
	for _, tt := range tests {
		err := checkCpOperands(loc(tt.src), loc(tt.dst), tt.recursive)
		if (err == nil) != tt.ok {
			t.Errorf("cp %s %s (recursive %v): err = %v, want ok=%v", tt.src, tt.dst, tt.recursive, err, tt.ok)
		}
	}
}
