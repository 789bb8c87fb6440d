package sigv4

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Limits of the aws-chunked decoder. They bound the memory one request can
// hold whatever it sends.
const (
	// MaxSignedChunkSize is the largest chunk a signed stream may carry: a
	// signed chunk is held in memory until its signature is checked.
	MaxSignedChunkSize = 16 << 20
	// maxChunkLine bounds a chunk-size line or a trailer line.
	maxChunkLine = 4096
	// maxTrailerLines bounds the lines (blank ones included) after the
	// final chunk.
	maxTrailerLines = 64
	// chunkReadBuffer is the size of the decoder's read buffer.
	chunkReadBuffer = 32 << 10
)

const (
	chunkPayloadAlgorithm = "AWS4-HMAC-SHA256-PAYLOAD"
	chunkTrailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER"
	chunkSignaturePrefix  = "chunk-signature="
	trailerSignatureName  = "x-amz-trailer-signature"
)

type chunkMode int

const (
	modeSigned          chunkMode = iota // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	modeSignedTrailer                    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
	modeUnsignedTrailer                  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
)

func (m chunkMode) signed() bool { return m != modeUnsignedTrailer }

type chunkConfig struct {
	mode     chunkMode
	key      []byte // signing key (signed modes)
	amzDate  string
	scope    string
	seed     string // the request signature, lower-case hex
	decoded  int64  // x-amz-decoded-content-length
	trailers map[string]bool
}

// chunkedReader decodes an aws-chunked body, verifying chunk and trailer
// signatures in the signed modes. Signed chunks are returned only after
// their signature matched; in the unsigned mode data streams through.
type chunkedReader struct {
	cfg     chunkConfig
	src     io.ReadCloser
	br      *bufio.Reader
	prevSig string

	total     int64        // decoded bytes announced by chunk headers so far
	pending   []byte       // verified bytes not yet returned
	buf       bytes.Buffer // chunk buffer, reused
	remaining int64        // unsigned mode: bytes of the current chunk to stream
	needCRLF  bool         // a chunk's data must be followed by CRLF
	done      bool
	err       error

	mu       sync.Mutex
	trailers http.Header // set once the stream verified completely
}

func newChunkedReader(src io.ReadCloser, cfg chunkConfig) *chunkedReader {
	return &chunkedReader{
		cfg:     cfg,
		src:     src,
		br:      bufio.NewReaderSize(src, chunkReadBuffer),
		prevSig: cfg.seed,
	}
}

// Trailer returns a copy of the verified trailing headers once the body
// reached io.EOF, else an empty header.
func (c *chunkedReader) Trailer() http.Header {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trailers == nil {
		return http.Header{}
	}
	return c.trailers.Clone()
}

func (c *chunkedReader) Close() error { return c.src.Close() }

func (c *chunkedReader) Read(p []byte) (int, error) {
	for {
		if c.err != nil {
			return 0, c.err
		}
		if len(c.pending) > 0 {
			n := copy(p, c.pending)
			c.pending = c.pending[n:]
			return n, nil
		}
		if c.remaining > 0 {
			if len(p) == 0 {
				return 0, nil
			}
			q := p
			if int64(len(q)) > c.remaining {
				q = q[:c.remaining]
			}
			n, err := c.br.Read(q)
			c.remaining -= int64(n)
			if n > 0 {
				return n, nil
			}
			if err != nil {
				c.err = c.readErr(err)
				return 0, c.err
			}
			continue
		}
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			c.err = err
		}
	}
}

// readErr maps an error of the underlying body: an early end is an
// incomplete body, anything else (a broken connection, a size limit) is
// returned as it is.
func (c *chunkedReader) readErr(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errIncompleteBody()
	}
	return err
}

// next reads the next chunk header and, in the signed modes, the chunk's
// data and signature; after the final chunk it reads the trailers.
func (c *chunkedReader) next() error {
	if c.needCRLF {
		var crlf [2]byte
		if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
			return c.readErr(err)
		}
		if crlf != [2]byte{'\r', '\n'} {
			return errMalformedChunk("chunk data is not followed by CRLF")
		}
		c.needCRLF = false
	}
	line, crlf, err := c.readLine()
	if err != nil {
		return c.readErr(err)
	}
	if !crlf {
		return errMalformedChunk("chunk header does not end in CRLF")
	}
	sizeStr, ext, hasExt := strings.Cut(line, ";")
	size, ok := parseChunkSize(sizeStr)
	if !ok {
		return errMalformedChunk("invalid chunk size")
	}
	var sig string
	if c.cfg.mode.signed() {
		if !hasExt || !strings.HasPrefix(ext, chunkSignaturePrefix) {
			return errMalformedChunk("missing chunk-signature")
		}
		sig = ext[len(chunkSignaturePrefix):]
		if !isHexSHA256(sig) {
			return errChunkSignatureMismatch()
		}
	} else if hasExt {
		return errMalformedChunk("unexpected chunk extension in an unsigned stream")
	}
	if size > uint64(c.cfg.decoded-c.total) {
		return errIncompleteBody()
	}
	if c.cfg.mode.signed() && size > MaxSignedChunkSize {
		return errMalformedChunk("chunk larger than " + strconv.Itoa(MaxSignedChunkSize) + " bytes")
	}
	n := int64(size)

	if c.cfg.mode.signed() {
		// The buffer grows with the bytes that arrive, not with the size
		// the chunk header claims.
		c.buf.Reset()
		if k, err := io.CopyN(&c.buf, c.br, n); err != nil || k != n {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return c.readErr(err)
		}
		data := c.buf.Bytes()
		if err := c.verifyChunk(data, sig); err != nil {
			return err
		}
		c.pending = data
	} else {
		c.remaining = n
	}
	c.total += n
	if n > 0 {
		c.needCRLF = true
		return nil
	}
	// Final chunk.
	if c.total != c.cfg.decoded {
		return errIncompleteBody()
	}
	trailers, err := c.readTrailers()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.trailers = trailers
	c.mu.Unlock()
	c.done = true
	return nil
}

func (c *chunkedReader) verifyChunk(data []byte, sig string) error {
	sum := sha256.Sum256(data)
	sts := chunkPayloadAlgorithm + "\n" + c.cfg.amzDate + "\n" + c.cfg.scope + "\n" +
		c.prevSig + "\n" + emptySHA256 + "\n" + hex.EncodeToString(sum[:])
	want := signHex(c.cfg.key, sts)
	if !sigEqual(want, sig) {
		return errChunkSignatureMismatch()
	}
	c.prevSig = want
	return nil
}

// parseChunkSize parses 1 to 16 hex digits.
func parseChunkSize(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F') {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 16, 64)
	return n, err == nil
}

// readLine reads one line ending in LF; crlf reports whether a CR preceded
// the LF (both are dropped). It returns io.EOF at a clean end of input and
// the partial line with io.ErrUnexpectedEOF when the input ends inside a
// line.
func (c *chunkedReader) readLine() (line string, crlf bool, err error) {
	b, err := c.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull || len(b) > maxChunkLine:
		return "", false, errMalformedChunk("line too long")
	case err == io.EOF:
		if len(b) == 0 {
			return "", false, io.EOF
		}
		return string(b), false, io.ErrUnexpectedEOF
	case err != nil:
		return "", false, err
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return string(b[:n-1]), true, nil
	}
	return string(b), false, nil
}

// readTrailers reads what follows the final chunk up to the end of the
// body: nothing but blank lines for STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
// "name:value" lines for the trailer modes, ended in the signed trailer
// mode by x-amz-trailer-signature. Blank lines are tolerated anywhere
// (clients differ in the line ends they send there).
func (c *chunkedReader) readTrailers() (http.Header, error) {
	h := http.Header{}
	var canon strings.Builder
	var sig string
	lines := 0
	for {
		line, _, err := c.readLine()
		last := false
		switch {
		case err == io.EOF:
			return h, c.finishTrailers(h, canon.String(), sig)
		case errors.Is(err, io.ErrUnexpectedEOF):
			last = true // a last line without its line end
		case err != nil:
			return nil, err
		}
		lines++
		if lines > maxTrailerLines {
			return nil, errMalformedChunk("too many trailer lines")
		}
		if line = strings.TrimRight(line, "\r"); line != "" {
			if c.cfg.mode == modeSigned {
				return nil, errMalformedChunk("unexpected data after the final chunk")
			}
			if sig != "" {
				return nil, errMalformedChunk("data after the trailer signature")
			}
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				return nil, errMalformedChunk("malformed trailer line")
			}
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.Trim(value, " \t")
			switch {
			case name == trailerSignatureName:
				if c.cfg.mode != modeSignedTrailer {
					return nil, errMalformedChunk("trailer signature in an unsigned stream")
				}
				if sig != "" {
					return nil, errMalformedChunk("repeated trailer signature")
				}
				sig = value
			case !validHeaderName(name):
				return nil, errMalformedChunk("invalid trailer name")
			case !c.cfg.trailers[name]:
				return nil, errMalformedChunk("trailer " + strconv.Quote(name) + " is not declared in x-amz-trailer")
			case h[name] != nil:
				return nil, errMalformedChunk("trailer " + strconv.Quote(name) + " is repeated")
			default:
				h[name] = []string{value}
				canon.WriteString(name + ":" + value + "\n")
			}
		}
		if last {
			return h, c.finishTrailers(h, canon.String(), sig)
		}
	}
}

// finishTrailers checks that every declared trailer arrived and, in the
// signed trailer mode, the trailer signature.
func (c *chunkedReader) finishTrailers(h http.Header, canon, sig string) error {
	if c.cfg.mode == modeSigned {
		return nil
	}
	for name := range c.cfg.trailers {
		if h[name] == nil {
			return errIncompleteBody()
		}
	}
	if c.cfg.mode != modeSignedTrailer {
		return nil
	}
	if sig == "" {
		return errIncompleteBody()
	}
	sum := sha256.Sum256([]byte(canon))
	sts := chunkTrailerAlgorithm + "\n" + c.cfg.amzDate + "\n" + c.cfg.scope + "\n" +
		c.prevSig + "\n" + hex.EncodeToString(sum[:])
	want := signHex(c.cfg.key, sts)
	if !sigEqual(want, sig) {
		return errTrailerSignatureMismatch()
	}
	c.prevSig = want
	return nil
}

// validHeaderName reports whether s is a lower-case HTTP token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0 {
			continue
		}
		return false
	}
	return true
}

// hashReader passes a body through and compares its SHA-256 with the
// expected hex value at the end.
type hashReader struct {
	src  io.ReadCloser
	h    hash.Hash
	want string
	// verify, when set, judges the hex SHA-256 at EOF instead of want.
	verify func(sum string) *Error
	eof    bool
	err    error
}

func newHashReader(src io.ReadCloser, wantHex string) *hashReader {
	return &hashReader{src: src, h: sha256.New(), want: strings.ToLower(wantHex)}
}

func (r *hashReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.eof {
		r.err = r.finish()
		return 0, r.err
	}
	n, err := r.src.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF {
		if n > 0 {
			r.eof = true
			return n, nil
		}
		r.err = r.finish()
		return 0, r.err
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *hashReader) finish() error {
	sum := hex.EncodeToString(r.h.Sum(nil))
	if r.verify != nil {
		if e := r.verify(sum); e != nil {
			return e
		}
		return io.EOF
	}
	if sum != r.want {
		return errContentSHA256Mismatch()
	}
	return io.EOF
}

func (r *hashReader) Close() error { return r.src.Close() }
