package sigv4

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// checkErr fails unless err is an *Error with a status this package uses.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is not an *Error: %v", err)
	}
	switch e.Status {
	case 400, 403, 411, 501:
	default:
		t.Fatalf("unexpected status %d in %v", e.Status, err)
	}
	if e.Code == "" || e.Message == "" {
		t.Fatalf("empty code or message: %#v", e)
	}
}

// fuzzRequest builds a server-side request without going through URL
// parsing, so the fuzzer controls the raw path and query.
func fuzzRequest(method, path, rawQuery string, body []byte) *http.Request {
	r := &http.Request{
		Method:     method,
		URL:        &url.URL{Path: path, RawQuery: rawQuery},
		Host:       "examplebucket.s3.amazonaws.com",
		Header:     http.Header{},
		Body:       io.NopCloser(bytes.NewReader(body)),
		RequestURI: path,
	}
	r.ContentLength = int64(len(body))
	return r
}

// drain reads a Result body and checks it ends in io.EOF or an *Error.
func drain(t *testing.T, res *Result) []byte {
	t.Helper()
	if res.Body == nil || res.Trailer == nil {
		t.Fatal("result without Body or Trailer")
	}
	got, err := readAllSmall(res.Body, 1000)
	if err != nil {
		checkErr(t, err)
		if len(res.Trailer()) != 0 {
			t.Fatal("trailers exposed after a failed body")
		}
	}
	return got
}

const getExampleAuth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
	"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
	"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"

func FuzzVerifyHeader(f *testing.F) {
	f.Add(getExampleAuth, "20130524T000000Z", emptySHA256, "Range", "bytes=0-9", "/test.txt", "", []byte(nil))
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", "", "", "Date", "Fri, 24 May 2013 00:00:00 GMT", "/", "", []byte(nil))
	f.Add("AWS4-ECDSA-P256-SHA256 Credential=a/b", "20130524T000000Z", "", "", "", "/", "", []byte(nil))
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/ec2/aws4_request,SignedHeaders=host,Signature=00",
		"20130524T000000Z", "", "Content-Type", "x", "/services/compute", "Action=Run", []byte("Action=Describe"))
	f.Add(getExampleAuth, "20130524T000000Z", streamingSigned, "X-Amz-Decoded-Content-Length", "5", "/test.txt", "a=b&c", []byte("5;chunk-signature=00\r\nhello\r\n"))
	f.Fuzz(func(t *testing.T, authz, amzDate, contentSHA, hName, hValue, path, query string, body []byte) {
		r := fuzzRequest("GET", path, query, body)
		r.Header["Authorization"] = []string{authz}
		if amzDate != "" {
			r.Header["X-Amz-Date"] = []string{amzDate}
		}
		if contentSHA != "" {
			r.Header["X-Amz-Content-Sha256"] = []string{contentSHA}
		}
		if hName != "" {
			r.Header.Add(hName, hValue)
		}
		v := exampleVerifier(exampleTime)
		res, err := v.Verify(context.Background(), r)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return
			}
			checkErr(t, err)
			return
		}
		// Only the documented example (or a harmless variation of it) can
		// verify: the signature must be the one of the GET example.
		if !strings.Contains(authz, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") {
			t.Fatalf("verified a request with a forged signature: %q", authz)
		}
		// No x-amz-* header rides along unsigned (issue 8 item 1).
		if n := strings.ToLower(hName); strings.HasPrefix(n, "x-amz-") && n != "x-amz-content-sha256" && n != "x-amz-date" &&
			!strings.Contains(authz, n) {
			t.Fatalf("verified with %s unsigned", hName)
		}
		drain(t, res)
	})
}

const presignExampleQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" +
	"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
	"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
	"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

func FuzzPresignQuery(f *testing.F) {
	f.Add("/test.txt", presignExampleQuery, "GET")
	f.Add("/test.txt", strings.Replace(presignExampleQuery, "86400", "604801", 1), "GET")
	f.Add("/", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Signature=1", "PUT")
	f.Add("/a b", "X-Amz-Credential=%zz&X-Amz-Signature=&&=&X-Amz-Expires=-1", "GET")
	f.Add("/x", "AWSAccessKeyId=a&Signature=b&Expires=1", "GET")
	f.Fuzz(func(t *testing.T, path, query, method string) {
		r := fuzzRequest(method, path, query, nil)
		res, err := exampleVerifier(exampleTime).Verify(context.Background(), r)
		if err != nil {
			checkErr(t, err)
			return
		}
		if !res.Presigned || !strings.Contains(query, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404") {
			t.Fatalf("verified a forged presigned query %q", query)
		}
		drain(t, res)
	})
}

// fuzzChunkConfig is the signing context of AWS's chunked examples.
func fuzzChunkConfig(mode chunkMode, decoded int64) chunkConfig {
	sc := scope{date: "20130524", region: "us-east-1", service: "s3"}
	return chunkConfig{
		mode:     mode,
		key:      deriveSigningKey(exampleSecret, sc.date, sc.region, sc.service),
		amzDate:  "20130524T000000Z",
		scope:    sc.String(),
		seed:     chunkedExampleSeed,
		decoded:  decoded,
		trailers: map[string]bool{"x-amz-checksum-crc32c": true},
	}
}

// referenceChunks is an independent, strict decoder of signed aws-chunked
// bodies: it returns the data of the leading chunks whose signatures
// verify, and whether the stream reached a verified final chunk.
func referenceChunks(cfg chunkConfig, body []byte) (data []byte, final bool) {
	cs := &chunkSigner{key: cfg.key, amzDate: cfg.amzDate, scope: cfg.scope, prev: cfg.seed}
	for {
		i := bytes.Index(body, []byte("\r\n"))
		if i < 0 {
			return data, false
		}
		size, sig, ok := strings.Cut(string(body[:i]), ";chunk-signature=")
		n, err := strconv.ParseUint(size, 16, 64)
		if !ok || err != nil || uint64(len(body)-i-2) < n {
			return data, false
		}
		chunk := body[i+2 : i+2+int(n)]
		if !strings.EqualFold(cs.chunk(chunk), sig) {
			return data, false
		}
		data = append(data, chunk...)
		if n == 0 {
			return data, true
		}
		body = body[i+2+int(n):]
		if !bytes.HasPrefix(body, []byte("\r\n")) {
			return data, false
		}
		body = body[2:]
	}
}

// fuzzSeedStream encodes chunks (signed with the example context) and a
// tail after the final chunk header.
func fuzzSeedStream(mode chunkMode, chunks []string, trailers string) []byte {
	cfg := fuzzChunkConfig(mode, 0)
	cs := &chunkSigner{key: cfg.key, amzDate: cfg.amzDate, scope: cfg.scope, prev: cfg.seed}
	var b bytes.Buffer
	for _, c := range append(chunks, "") {
		fmt.Fprintf(&b, "%x", len(c))
		if mode.signed() {
			b.WriteString(";chunk-signature=" + cs.chunk([]byte(c)))
		}
		b.WriteString("\r\n" + c)
		if c != "" {
			b.WriteString("\r\n")
		}
	}
	switch mode {
	case modeSigned:
		b.WriteString("\r\n")
	case modeSignedTrailer:
		b.WriteString(trailers)
		b.WriteString("x-amz-trailer-signature:" + cs.trailer(strings.ReplaceAll(trailers, "\r\n", "\n")) + "\r\n\r\n")
	default:
		b.WriteString(trailers + "\r\n")
	}
	return b.Bytes()
}

func FuzzChunkedReader(f *testing.F) {
	for mode := modeSigned; mode <= modeUnsignedTrailer; mode++ {
		f.Add(int(mode), int64(10), fuzzSeedStream(mode, []string{"hello", "world"}, "x-amz-checksum-crc32c:sOO8/Q==\r\n"))
		f.Add(int(mode), int64(0), fuzzSeedStream(mode, nil, "x-amz-checksum-crc32c:AAAAAA==\r\n"))
	}
	f.Add(0, int64(3), []byte("3;chunk-signature=zz\r\nabc\r\n"))
	f.Add(2, int64(3), []byte("3\r\nabc\r\n0\r\nx-amz-checksum-crc32c:a\n\r\n\r\n"))
	f.Add(2, int64(1), []byte("fffffffffffffffff\r\n"))
	f.Fuzz(func(t *testing.T, m int, decoded int64, body []byte) {
		if m < 0 {
			m = -m
		}
		mode := chunkMode(m % 3)
		if decoded < 0 {
			decoded = -decoded
		}
		if decoded < 0 { // math.MinInt64
			decoded = 0
		}
		cfg := fuzzChunkConfig(mode, decoded)
		cr := newChunkedReader(io.NopCloser(bytes.NewReader(body)), cfg)
		for _, piece := range []int{1, 3, 4096} {
			cr = newChunkedReader(io.NopCloser(bytes.NewReader(body)), cfg)
			got, err := readAllSmall(cr, piece)
			if err != nil {
				checkErr(t, err)
				if len(cr.Trailer()) != 0 {
					t.Fatal("trailers after failure")
				}
			} else if int64(len(got)) != decoded {
				t.Fatalf("EOF after %d bytes, declared %d", len(got), decoded)
			}
			if mode.signed() {
				ref, final := referenceChunks(cfg, body)
				if !bytes.HasPrefix(ref, got) {
					t.Fatalf("returned %d bytes that are not verified chunk data", len(got))
				}
				if err == nil && (!final || !bytes.Equal(ref, got)) {
					t.Fatalf("EOF on a stream the reference decoder rejects")
				}
			}
			if err == nil && mode != modeSigned {
				if tr := cr.Trailer(); len(tr["x-amz-checksum-crc32c"]) != 1 {
					t.Fatalf("EOF without the declared trailer: %v", tr)
				}
			}
		}
	})
}

// TestWriteFuzzCorpus writes the seed corpus files under testdata/fuzz
// (run with SIGV4_WRITE_CORPUS=1); they are checked in.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SIGV4_WRITE_CORPUS") == "" {
		t.Skip("set SIGV4_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(fuzzer, name string, vals ...any) {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, v := range vals {
			switch v := v.(type) {
			case string:
				b.WriteString("string(" + strconv.Quote(v) + ")\n")
			case []byte:
				b.WriteString("[]byte(" + strconv.Quote(string(v)) + ")\n")
			case int:
				b.WriteString("int(" + strconv.Itoa(v) + ")\n")
			case int64:
				b.WriteString("int64(" + strconv.FormatInt(v, 10) + ")\n")
			}
		}
		dir := filepath.Join("testdata", "fuzz", fuzzer)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzVerifyHeader", "valid-get-example", getExampleAuth, "20130524T000000Z", emptySHA256, "Range", "bytes=0-9", "/test.txt", "", []byte(nil))
	write("FuzzVerifyHeader", "sigv2", "AWS AKIAIOSFODNN7EXAMPLE:abc=", "", "", "Date", "Fri, 24 May 2013 00:00:00 GMT", "/", "", []byte(nil))
	write("FuzzVerifyHeader", "malformed-credential", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2013/us-east-1,SignedHeaders=;,Signature=", "20130524T000000Z", "UNSIGNED-PAYLOAD", "", "", "/%zz", "a=%", []byte(nil))
	write("FuzzVerifyHeader", "streaming-bad-length", getExampleAuth, "20130524T000000Z", streamingSignedTrailer, "X-Amz-Decoded-Content-Length", "-1", "/", "", []byte("0\r\n\r\n"))
	write("FuzzPresignQuery", "valid-example", "/test.txt", presignExampleQuery, "GET")
	write("FuzzPresignQuery", "expires-too-long", "/test.txt", strings.Replace(presignExampleQuery, "86400", "604801", 1), "GET")
	write("FuzzPresignQuery", "garbage", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%&X-Amz-Date=1&X-Amz-Expires=x&X-Amz-SignedHeaders=&X-Amz-Signature=0", "GET")
	write("FuzzChunkedReader", "signed-valid", int(modeSigned), int64(10), fuzzSeedStream(modeSigned, []string{"hello", "world"}, ""))
	write("FuzzChunkedReader", "signed-trailer-valid", int(modeSignedTrailer), int64(10), fuzzSeedStream(modeSignedTrailer, []string{"hello", "world"}, "x-amz-checksum-crc32c:sOO8/Q==\r\n"))
	write("FuzzChunkedReader", "unsigned-trailer-valid", int(modeUnsignedTrailer), int64(10), fuzzSeedStream(modeUnsignedTrailer, []string{"hello", "world"}, "x-amz-checksum-crc32c:sOO8/Q==\r\n"))
	write("FuzzChunkedReader", "unsigned-trailer-minio", int(modeUnsignedTrailer), int64(3), []byte("3\r\nabc\r\n0\r\nx-amz-checksum-crc32c:a\n\r\n\r\n"))
	write("FuzzChunkedReader", "signed-bad-signature", int(modeSigned), int64(3), []byte("3;chunk-signature="+strings.Repeat("0", 64)+"\r\nabc\r\n0;chunk-signature="+strings.Repeat("1", 64)+"\r\n\r\n"))
	write("FuzzChunkedReader", "huge-size", int(modeUnsignedTrailer), int64(1), []byte("ffffffffffffffff\r\n"))
}
