package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// streamSpec describes an aws-chunked body to build and sign.
type streamSpec struct {
	mode     string      // x-amz-content-sha256
	chunks   [][]byte    // data chunks (the final 0-size chunk is added)
	trailers [][2]string // trailing headers
	minio    bool        // minio-go's line ends around trailers
	decoded  int64       // x-amz-decoded-content-length; -1 = sum of chunks
}

// chunkSigner computes chunk and trailer signatures the way clients do.
type chunkSigner struct {
	key            []byte
	amzDate, scope string
	prev           string
}

func (s *chunkSigner) chunk(data []byte) string {
	h := sha256.Sum256(data)
	s.prev = signHex(s.key, "AWS4-HMAC-SHA256-PAYLOAD\n"+s.amzDate+"\n"+s.scope+"\n"+s.prev+"\n"+emptySHA256+"\n"+hex.EncodeToString(h[:]))
	return s.prev
}

func (s *chunkSigner) trailer(canon string) string {
	h := sha256.Sum256([]byte(canon))
	s.prev = signHex(s.key, "AWS4-HMAC-SHA256-TRAILER\n"+s.amzDate+"\n"+s.scope+"\n"+s.prev+"\n"+hex.EncodeToString(h[:]))
	return s.prev
}

// buildStream signs the request headers with aws-sdk-go-v2 and encodes the
// body; it returns the request (body unset) and the encoded body.
func buildStream(t testing.TB, s streamSpec) (*http.Request, []byte) {
	t.Helper()
	var total int64
	for _, c := range s.chunks {
		total += int64(len(c))
	}
	if s.decoded < 0 {
		s.decoded = total
	}
	h := map[string]string{
		"Content-Encoding":             "aws-chunked",
		"X-Amz-Decoded-Content-Length": strconv.FormatInt(s.decoded, 10),
	}
	var names []string
	for _, kv := range s.trailers {
		names = append(names, kv[0])
	}
	if len(names) > 0 {
		h["X-Amz-Trailer"] = strings.Join(names, ",")
	}
	r := signSDK(t, sdkReq{method: "PUT", payload: s.mode, headers: h})
	auth := r.Header.Get("Authorization")
	seed := auth[strings.LastIndex(auth, "=")+1:]
	sc := scope{date: testNow.Format(scopeDateLayout), region: "us-east-1", service: "s3"}
	cs := &chunkSigner{
		key:     deriveSigningKey(testSecret, sc.date, sc.region, sc.service),
		amzDate: testNow.Format(amzDateLayout), scope: sc.String(), prev: seed,
	}
	signed := s.mode != streamingUnsignedTrailr
	var b bytes.Buffer
	for _, c := range append(s.chunks, nil) {
		fmt.Fprintf(&b, "%x", len(c))
		if signed {
			b.WriteString(";chunk-signature=" + cs.chunk(c))
		}
		b.WriteString("\r\n")
		b.Write(c)
		if len(c) > 0 || s.mode == streamingSigned {
			b.WriteString("\r\n")
		}
	}
	if s.mode != streamingSigned {
		var canon strings.Builder
		for _, kv := range s.trailers {
			canon.WriteString(kv[0] + ":" + kv[1] + "\n")
			if s.minio {
				b.WriteString(kv[0] + ":" + kv[1] + "\n")
			} else {
				b.WriteString(kv[0] + ":" + kv[1] + "\r\n")
			}
		}
		if s.minio {
			b.WriteString("\r\n")
		}
		if signed {
			b.WriteString("x-amz-trailer-signature:" + cs.trailer(canon.String()) + "\r\n")
		}
		b.WriteString("\r\n")
	}
	return r, b.Bytes()
}

func streamRequest(r *http.Request, body []byte) *http.Request {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return r
}

func TestStreamingModes(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB
	crc := [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}
	two := [][2]string{{"x-amz-checksum-crc32c", "sOO8/Q=="}, {"x-amz-meta-x", "y"}}
	tests := []struct {
		name string
		spec streamSpec
	}{
		{"signed one chunk", streamSpec{mode: streamingSigned, chunks: [][]byte{[]byte("hello")}}},
		{"signed many chunks", streamSpec{mode: streamingSigned, chunks: [][]byte{big[:65536], big[:65536], []byte("x")}}},
		{"signed empty", streamSpec{mode: streamingSigned}},
		{"signed one-byte chunks", streamSpec{mode: streamingSigned, chunks: [][]byte{{1}, {2}, {3}}}},
		{"signed trailer", streamSpec{mode: streamingSignedTrailer, chunks: [][]byte{big}, trailers: crc}},
		{"signed trailer minio line ends", streamSpec{mode: streamingSignedTrailer, chunks: [][]byte{big}, trailers: crc, minio: true}},
		{"signed two trailers", streamSpec{mode: streamingSignedTrailer, chunks: [][]byte{big[:10]}, trailers: two}},
		{"signed trailer empty body", streamSpec{mode: streamingSignedTrailer, trailers: crc}},
		{"unsigned trailer", streamSpec{mode: streamingUnsignedTrailr, chunks: [][]byte{big[:65536], big[:100]}, trailers: crc}},
		{"unsigned trailer minio line ends", streamSpec{mode: streamingUnsignedTrailr, chunks: [][]byte{big}, trailers: crc, minio: true}},
		{"unsigned trailer none", streamSpec{mode: streamingUnsignedTrailr, chunks: [][]byte{big}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.decoded = -1
			r, body := buildStream(t, tc.spec)
			want := bytes.Join(tc.spec.chunks, nil)
			for _, piece := range []int{1, 100, 1 << 20} {
				res, err := testVerifier().Verify(context.Background(), streamRequest(r.Clone(context.Background()), body))
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Trailer()) != 0 {
					t.Fatal("trailers before EOF")
				}
				got, err := readAllSmall(res.Body, piece)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("piece %d: %d bytes (want %d), err %v", piece, len(got), len(want), err)
				}
				if res.DecodedLength != int64(len(want)) || res.PayloadHash != tc.spec.mode {
					t.Errorf("result %+v", res)
				}
				tr := res.Trailer()
				if len(tr) != len(tc.spec.trailers) {
					t.Fatalf("trailers %v", tr)
				}
				for _, kv := range tc.spec.trailers {
					if v := tr[kv[0]]; len(v) != 1 || v[0] != kv[1] {
						t.Errorf("trailer %s = %v", kv[0], v)
					}
				}
			}
		})
	}
}

func TestStreamingRejections(t *testing.T) {
	data := bytes.Repeat([]byte{'z'}, 1000)
	crc := [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}
	signed := streamSpec{mode: streamingSigned, chunks: [][]byte{data, data}, decoded: -1}
	signedTr := streamSpec{mode: streamingSignedTrailer, chunks: [][]byte{data}, trailers: crc, decoded: -1}
	unsignedTr := streamSpec{mode: streamingUnsignedTrailr, chunks: [][]byte{data}, trailers: crc, decoded: -1}
	type edit func(body []byte) []byte
	replace := func(old, new string) edit {
		return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
	}
	tests := []struct {
		name    string
		spec    streamSpec
		edit    edit
		code    string
		maxData int
	}{
		{"decoded length larger", streamSpec{mode: streamingSigned, chunks: [][]byte{data}, decoded: 1001}, nil, "IncompleteBody", 1000},
		{"decoded length smaller", streamSpec{mode: streamingSigned, chunks: [][]byte{data}, decoded: 999}, nil, "IncompleteBody", 0},
		{"chunks swapped", streamSpec{mode: streamingSigned, chunks: [][]byte{data, []byte("other")}, decoded: -1}, func(b []byte) []byte {
			i := bytes.Index(b, []byte("\r\n5;"))
			first, second := b[:i+2], b[i+2:]
			j := bytes.Index(second, []byte("0;chunk"))
			out := append(bytes.Clone(second[:j]), first...)
			return append(out, second[j:]...)
		}, "SignatureDoesNotMatch", 0},
		{"tampered data", signed, func(b []byte) []byte { c := bytes.Clone(b); c[len(c)-200] = 'y'; return c }, "SignatureDoesNotMatch", 1000},
		{"missing CRLF after data", signed, replace("zz\r\n3e8;", "zzzz3e8;"), "InvalidRequest", 1000},
		{"size not hex", signed, replace("3e8;", "3g8;"), "InvalidRequest", 0},
		{"size too long", signed, replace("3e8;", "000000000000000003e8;"), "InvalidRequest", 0},
		{"huge size", signed, replace("3e8;", "ffffffffffffffff;"), "IncompleteBody", 0},
		{"no chunk signature", signed, replace(";chunk-signature=", ";chunk-sig="), "InvalidRequest", 0},
		{"header line too long", signed, replace("3e8;", "3e8"+strings.Repeat(" ", 5000)+";"), "InvalidRequest", 0},
		{"truncated in header", signed, func(b []byte) []byte { return b[:10] }, "IncompleteBody", 0},
		{"empty body", signed, func(b []byte) []byte { return nil }, "IncompleteBody", 0},
		{"no final chunk", signed, func(b []byte) []byte { return b[:bytes.LastIndex(b, []byte("0;chunk"))] }, "IncompleteBody", 2000},
		{"trailer tampered", signedTr, replace("AAAAAA==", "AAAAAB=="), "SignatureDoesNotMatch", 1000},
		{"trailer signature missing", signedTr, func(b []byte) []byte { return b[:bytes.Index(b, []byte("x-amz-trailer-signature"))] }, "IncompleteBody", 1000},
		{"trailer missing", signedTr, func(b []byte) []byte { return b[:bytes.Index(b, []byte("x-amz-checksum"))] }, "IncompleteBody", 1000},
		{"trailer after signature", signedTr, func(b []byte) []byte { return append(b[:len(b)-2], "x-amz-meta:a\r\n\r\n"...) }, "InvalidRequest", 1000},
		{"trailer without colon", unsignedTr, replace("x-amz-checksum-crc32:", "x-amz-checksum-crc32="), "InvalidRequest", 1000},
		{"trailer repeated", unsignedTr, replace("\r\n\r\n", "\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), "InvalidRequest", 1000},
		{"trailer not declared", unsignedTr, replace("x-amz-checksum-crc32:", "x-amz-checksum-sha1:"), "InvalidRequest", 1000},
		{"trailer signature in unsigned stream", unsignedTr, replace("\r\n\r\n", "\r\nx-amz-trailer-signature:"+strings.Repeat("0", 64)+"\r\n\r\n"), "InvalidRequest", 1000},
		{"chunk extension in unsigned stream", unsignedTr, replace("3e8\r\n", "3e8;chunk-signature=00\r\n"), "InvalidRequest", 0},
		{"too many blank lines", unsignedTr, func(b []byte) []byte { return append(b, bytes.Repeat([]byte("\r\n"), 100)...) }, "InvalidRequest", 1000},
		{"unsigned truncated data", unsignedTr, func(b []byte) []byte { return b[:500] }, "IncompleteBody", 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, body := buildStream(t, tc.spec)
			if tc.edit != nil {
				body = tc.edit(body)
			}
			res, err := testVerifier().Verify(context.Background(), streamRequest(r, body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			if errCode(err) != tc.code {
				t.Fatalf("err = %v, want %s (read %d bytes)", err, tc.code, len(got))
			}
			if len(got) > tc.maxData {
				t.Errorf("returned %d bytes, at most %d were verified", len(got), tc.maxData)
			}
			if len(res.Trailer()) != 0 {
				t.Errorf("trailers after failure: %v", res.Trailer())
			}
		})
	}
}

// A signed chunk larger than MaxSignedChunkSize is refused before it is
// buffered.
func TestSignedChunkTooLarge(t *testing.T) {
	r, _ := buildStream(t, streamSpec{mode: streamingSigned, decoded: 1 << 30})
	body := fmt.Sprintf("%x;chunk-signature=%s\r\n", MaxSignedChunkSize+1, strings.Repeat("0", 64))
	res, err := testVerifier().Verify(context.Background(), streamRequest(r, []byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(res.Body); errCode(err) != "InvalidRequest" {
		t.Fatalf("err = %v", err)
	}
}

// Errors of the connection itself pass through unchanged.
func TestStreamingTransportError(t *testing.T) {
	r, body := buildStream(t, streamSpec{mode: streamingUnsignedTrailr, chunks: [][]byte{[]byte("abc")}, decoded: -1})
	boom := fmt.Errorf("connection reset")
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:4]), errReader{boom}))
	res, err := testVerifier().Verify(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(res.Body); err != boom {
		t.Fatalf("err = %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Found by FuzzChunkedReader (testdata/fuzz/FuzzChunkedReader/
// regression-header-bare-lf): a chunk header ending in a bare LF was
// accepted. Chunk headers must end in CRLF; only the trailer section
// tolerates bare LF (minio-go writes it there).
func TestRegressionChunkHeaderBareLF(t *testing.T) {
	cfg := fuzzChunkConfig(modeSigned, 5)
	body := fuzzSeedStream(modeSigned, []string{"hello"}, "")
	bad := bytes.Replace(body, []byte("\r\nhello"), []byte("\nhello"), 1)
	got, err := io.ReadAll(newChunkedReader(io.NopCloser(bytes.NewReader(bad)), cfg))
	if errCode(err) != "InvalidRequest" || len(got) != 0 {
		t.Fatalf("got %q, err %v", got, err)
	}
	if got, err := io.ReadAll(newChunkedReader(io.NopCloser(bytes.NewReader(body)), cfg)); err != nil || string(got) != "hello" {
		t.Fatalf("valid stream: %q %v", got, err)
	}
}

// A chunk header claiming a large size costs memory only for the bytes
// that actually arrive.
func TestSignedChunkBufferGrowsWithData(t *testing.T) {
	cfg := fuzzChunkConfig(modeSigned, MaxSignedChunkSize)
	body := []byte(fmt.Sprintf("%x;chunk-signature=%s\r\nabc", MaxSignedChunkSize, strings.Repeat("0", 64)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	io.ReadAll(newChunkedReader(io.NopCloser(bytes.NewReader(body)), cfg))
	runtime.ReadMemStats(&after)
	allocs := after.TotalAlloc - before.TotalAlloc
	if allocs > 1<<20 {
		t.Fatalf("a 3-byte truncated chunk allocated %d bytes", allocs)
	}
}
