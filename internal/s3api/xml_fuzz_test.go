package s3api

import (
	"testing"
)

// FuzzCompleteMultipartUpload feeds arbitrary bodies to the
// CompleteMultipartUpload parser: it must never panic, and whatever it
// accepts must be a usable part list.
func FuzzCompleteMultipartUpload(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><PartNumber>2</PartNumber><ETag>y</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber></Part>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		parts, err := parseCompleteRequest(body)
		if err != nil {
			return
		}
		if len(parts) == 0 || len(parts) > 10000 {
			t.Fatalf("accepted %d parts", len(parts))
		}
		for _, p := range parts {
			if p.Number < 1 || p.Number > 10000 {
				t.Fatalf("accepted part number %d", p.Number)
			}
		}
	})
}

// FuzzDeleteObjects feeds arbitrary bodies to the DeleteObjects parser.
func FuzzDeleteObjects(f *testing.F) {
	f.Add([]byte(`<Delete><Object><Key>a</Key></Object></Delete>`))
	f.Add([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key><VersionId>null</VersionId></Object><Object><Key>b</Key></Object></Delete>`))
	f.Add([]byte(`<Delete></Delete>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Delete><Object><Key>&a;</Key></Object></Delete>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parseDeleteRequest(body)
		if err != nil {
			return
		}
		if len(d.Objects) == 0 || len(d.Objects) > 1000 {
			t.Fatalf("accepted %d objects", len(d.Objects))
		}
	})
}
