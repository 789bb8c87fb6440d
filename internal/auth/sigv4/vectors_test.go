package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The worked examples of "Signature Calculations for the Authorization
// Header: Transferring Payload in a Single Chunk" (Amazon S3 API reference).
func TestAWSHeaderExamples(t *testing.T) {
	const authPrefix = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
	tests := []struct {
		name, method, target, body string
		headers                    map[string]string
		signed, sig                string
	}{
		{
			name: "GET object", method: "GET", target: "http://examplebucket.s3.amazonaws.com/test.txt",
			headers: map[string]string{"Range": "bytes=0-9", "x-amz-content-sha256": emptySHA256, "x-amz-date": "20130524T000000Z"},
			signed:  "host;range;x-amz-content-sha256;x-amz-date",
			sig:     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name: "PUT object", method: "PUT", target: "http://examplebucket.s3.amazonaws.com/test$file.text",
			body: "Welcome to Amazon S3.",
			headers: map[string]string{
				"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-date": "20130524T000000Z",
				"x-amz-storage-class":  "REDUCED_REDUNDANCY",
				"x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
			},
			signed: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
			sig:    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		},
		{
			name: "GET bucket lifecycle", method: "GET", target: "http://examplebucket.s3.amazonaws.com/?lifecycle",
			headers: map[string]string{"x-amz-content-sha256": emptySHA256, "x-amz-date": "20130524T000000Z"},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name: "GET bucket (list objects)", method: "GET", target: "http://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
			headers: map[string]string{"x-amz-content-sha256": emptySHA256, "x-amz-date": "20130524T000000Z"},
			signed:  "host;x-amz-content-sha256;x-amz-date",
			sig:     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			build := func(sig string) *http.Request {
				r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
				for k, v := range tc.headers {
					r.Header.Set(k, v)
				}
				r.Header.Set("Authorization", authPrefix+"SignedHeaders="+tc.signed+",Signature="+sig)
				return r
			}
			res, body := mustVerify(t, exampleVerifier(exampleTime), build(tc.sig))
			if string(body) != tc.body {
				t.Errorf("body = %q, want %q", body, tc.body)
			}
			if res.Credential.AccessKey != exampleAccessKey || res.Region != "us-east-1" || res.Service != "s3" || res.Presigned {
				t.Errorf("result = %+v", res)
			}
			// One flipped digit must fail.
			bad := []byte(tc.sig)
			bad[10] ^= 1
			_, err := exampleVerifier(exampleTime).Verify(context.Background(), build(string(bad)))
			if errCode(err) != "SignatureDoesNotMatch" {
				t.Errorf("tampered signature: err = %v", err)
			}
		})
	}
}

// The example of "Authenticating Requests: Using Query Parameters".
func TestAWSPresignedExample(t *testing.T) {
	const target = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	res, _ := mustVerify(t, exampleVerifier(exampleTime.Add(3600e9)), httptest.NewRequest("GET", target, nil))
	if !res.Presigned || res.PayloadHash != unsignedPayload || res.Credential.Account != "acct-"+exampleAccessKey {
		t.Errorf("result = %+v", res)
	}
	for _, tc := range []struct {
		name, target string
		now          int64 // seconds after the example time
		code         string
	}{
		{"expired", target, 86401, "AccessDenied"},
		{"not yet valid", target, -3600, "AccessDenied"},
		{"other key", strings.Replace(target, "test.txt", "test2.txt", 1), 0, "SignatureDoesNotMatch"},
		{"longer expiry", strings.Replace(target, "Expires=86400", "Expires=86401", 1), 0, "SignatureDoesNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := exampleVerifier(exampleTime.Add(timeSeconds(tc.now)))
			_, err := v.Verify(context.Background(), httptest.NewRequest("GET", tc.target, nil))
			if errCode(err) != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
		})
	}
}

// chunkedExample builds the body of the chunked upload examples: 65536 and
// 1024 bytes of 'a' with the given chunk signatures, then tail after the
// final chunk header.
func chunkedExample(sigs [3]string, tail string) []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + sigs[0] + "\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 65536))
	b.WriteString("\r\n400;chunk-signature=" + sigs[1] + "\r\n")
	b.Write(bytes.Repeat([]byte{'a'}, 1024))
	b.WriteString("\r\n0;chunk-signature=" + sigs[2] + "\r\n")
	b.WriteString(tail)
	return b.Bytes()
}

var (
	chunkedExampleSigs = [3]string{
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
	}
	trailerExampleSigs = [3]string{
		"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
	}
)

const (
	chunkedExampleSeed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	trailerExampleSeed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
	trailerExampleTail = "x-amz-checksum-crc32c:sOO8/Q==\r\n" +
		"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
)

// chunkedExampleRequest is the request of "Signature Calculations for the
// Authorization Header: Transferring Payload in Multiple Chunks".
func chunkedExampleRequest(body []byte) *http.Request {
	r := httptest.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
	r.Header.Set("x-amz-date", "20130524T000000Z")
	r.Header.Set("x-amz-storage-class", "REDUCED_REDUNDANCY")
	r.Header.Set("x-amz-content-sha256", streamingSigned)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("x-amz-decoded-content-length", "66560")
	r.Header.Set("Content-Length", "66824")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"+
		"Signature="+chunkedExampleSeed)
	return r
}

// trailerExampleRequest is the request of "Signature calculations for
// trailing headers (chunked uploads)".
func trailerExampleRequest(body []byte) *http.Request {
	r := httptest.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
	r.Header.Set("x-amz-date", "20130524T000000Z")
	r.Header.Set("x-amz-storage-class", "REDUCED_REDUNDANCY")
	r.Header.Set("x-amz-content-sha256", streamingSignedTrailer)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("x-amz-decoded-content-length", "66560")
	r.Header.Set("x-amz-trailer", "x-amz-checksum-crc32c")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,"+
		"Signature="+trailerExampleSeed)
	return r
}

func TestAWSChunkedExample(t *testing.T) {
	body := chunkedExample(chunkedExampleSigs, "\r\n")
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, the documented Content-Length is 66824", len(body))
	}
	want := bytes.Repeat([]byte{'a'}, 66560)
	for _, piece := range []int{1, 7, 4096, 70000} {
		res, err := exampleVerifier(exampleTime).Verify(context.Background(), chunkedExampleRequest(body))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		got, err := readAllSmall(res.Body, piece)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read by %d: %d bytes, err %v", piece, len(got), err)
		}
		if res.DecodedLength != 66560 || res.PayloadHash != streamingSigned {
			t.Errorf("result = %+v", res)
		}
	}
}

func TestAWSTrailerExample(t *testing.T) {
	body := chunkedExample(trailerExampleSigs, trailerExampleTail)
	res, got := mustVerify(t, exampleVerifier(exampleTime), trailerExampleRequest(body))
	if !bytes.Equal(got, bytes.Repeat([]byte{'a'}, 66560)) {
		t.Fatalf("decoded %d bytes", len(got))
	}
	if v := res.Trailer()["x-amz-checksum-crc32c"]; len(v) != 1 || v[0] != "sOO8/Q==" {
		t.Errorf("trailer = %v", res.Trailer())
	}
	// The documented trailer block without its final blank line is also
	// complete.
	body = chunkedExample(trailerExampleSigs, strings.TrimSuffix(trailerExampleTail, "\r\n"))
	mustVerify(t, exampleVerifier(exampleTime), trailerExampleRequest(body))
}

// Tampering with the documented streams fails with the documented code and
// never yields the tampered chunk.
func TestAWSChunkedExampleTampered(t *testing.T) {
	good := chunkedExample(chunkedExampleSigs, "\r\n")
	goodTrailer := chunkedExample(trailerExampleSigs, trailerExampleTail)
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name    string
		req     func() *http.Request
		code    string
		maxData int // bytes that may be returned before the failure
	}{
		{"chunk data", func() *http.Request { return chunkedExampleRequest(flip(good, 1000)) }, "SignatureDoesNotMatch", 0},
		{"second chunk data", func() *http.Request { return chunkedExampleRequest(flip(good, 65536+100+200)) }, "SignatureDoesNotMatch", 65536},
		{"chunk signature", func() *http.Request { return chunkedExampleRequest(flip(good, 30)) }, "SignatureDoesNotMatch", 0},
		{"final chunk signature", func() *http.Request {
			i := bytes.LastIndex(good, []byte("0;chunk-signature=")) + 20
			return chunkedExampleRequest(flip(good, i))
		}, "SignatureDoesNotMatch", 66560},
		{"truncated", func() *http.Request { return chunkedExampleRequest(good[:60000]) }, "IncompleteBody", 0},
		{"truncated before final chunk", func() *http.Request {
			return chunkedExampleRequest(good[:bytes.LastIndex(good, []byte("0;chunk"))])
		}, "IncompleteBody", 66560},
		{"trailer value", func() *http.Request {
			return trailerExampleRequest(bytes.Replace(goodTrailer, []byte("sOO8/Q=="), []byte("sOO8/R=="), 1))
		}, "SignatureDoesNotMatch", 66560},
		{"trailer signature", func() *http.Request {
			return trailerExampleRequest(bytes.Replace(goodTrailer, []byte("d81f82fc"), []byte("d81f82fd"), 1))
		}, "SignatureDoesNotMatch", 66560},
		{"trailer missing", func() *http.Request {
			return trailerExampleRequest(chunkedExample(trailerExampleSigs, "\r\n"))
		}, "IncompleteBody", 66560},
		{"undeclared trailer", func() *http.Request {
			return trailerExampleRequest(bytes.Replace(goodTrailer, []byte("x-amz-checksum-crc32c:"), []byte("x-amz-checksum-crc32x:"), 1))
		}, "InvalidRequest", 66560},
		{"data after final chunk", func() *http.Request {
			return chunkedExampleRequest(chunkedExample(chunkedExampleSigs, "\r\nextra"))
		}, "InvalidRequest", 66560},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := exampleVerifier(exampleTime).Verify(context.Background(), tc.req())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := io.ReadAll(res.Body)
			if errCode(err) != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if len(got) > tc.maxData {
				t.Errorf("returned %d bytes before failing, at most %d were verified", len(got), tc.maxData)
			}
			if len(res.Trailer()) != 0 {
				t.Errorf("trailers exposed after a failure: %v", res.Trailer())
			}
			// The error sticks.
			if n, err2 := res.Body.Read(make([]byte, 10)); n != 0 || errCode(err2) != tc.code {
				t.Errorf("second read: %d, %v", n, err2)
			}
		})
	}
}
