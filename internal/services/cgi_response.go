package services

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// maxHeaderBytes bounds the CGI response header block a guest may write,
// blank line included, however it is split across writes.
const maxHeaderBytes = 64 << 10

var errBadResponse = errors.New("services: malformed CGI response")

// cgiResponse parses a guest's CGI response on stdout and streams its body
// to w. Nothing reaches the client until the header block is complete and
// valid, so a guest that dies early still gets a clean 502. The block ends
// at the first empty line, whatever mix of CRLF and bare LF ends the lines.
// One goroutine (the sandbox's stdout pump) calls Write.
type cgiResponse struct {
	w http.ResponseWriter
	// script is the service's SCRIPT_NAME ("" on its own host): a cookie
	// the guest sets must stay under it.
	script string
	// limit bounds the header block; 0 means maxHeaderBytes (the fuzz
	// target sets a small one to reach the boundary).
	limit   int
	head    bytes.Buffer // the header block so far, at most limit bytes
	line    int          // start of head's unfinished last line
	started bool         // the HTTP header was sent
	code    int
	err     error
}

func (c *cgiResponse) status() int { return c.code }

func (c *cgiResponse) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.started {
		return c.w.Write(p)
	}
	// Keep at most limit bytes: a block that has not ended by then is
	// refused, so one huge write costs no more than many small ones.
	limit := cmp.Or(c.limit, maxHeaderBytes)
	take := min(len(p), limit-c.head.Len())
	c.head.Write(p[:take])
	end, next := headerEnd(c.head.Bytes(), c.line)
	c.line = next
	if end < 0 {
		if take < len(p) || c.head.Len() >= limit {
			c.err = errBadResponse
			return 0, c.err
		}
		return len(p), nil
	}
	block := c.head.Bytes()
	if err := c.sendHeader(block[:end]); err != nil {
		c.err = err
		return 0, err
	}
	// The body: what followed the blank line in the buffer, then the part
	// of p that was not buffered.
	for _, rest := range [][]byte{block[end:], p[take:]} {
		if len(rest) > 0 {
			if _, err := c.w.Write(rest); err != nil {
				return 0, err
			}
		}
	}
	c.head = bytes.Buffer{}
	return len(p), nil
}

// headerEnd returns the offset just past the empty line that ends the header
// block in b ("\n" or "\r\n" at the start of a line), or -1 and the start
// of the last, unfinished line, from which the next call may resume (from
// is a line start): each byte is scanned once however the block is split.
func headerEnd(b []byte, from int) (end, next int) {
	for i := from; i < len(b); {
		switch {
		case b[i] == '\n':
			return i + 1, i
		case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
			return i + 2, i
		}
		nl := bytes.IndexByte(b[i:], '\n')
		if nl < 0 {
			return -1, i
		}
		i += nl + 1
	}
	return -1, len(b)
}

// sendHeader interprets the CGI header block and writes the HTTP header.
func (c *cgiResponse) sendHeader(block []byte) error {
	// A buffer the block's size, not bufio's 4 KiB default: one small
	// allocation per request (lines longer than it are read in pieces).
	tp := textproto.NewReader(bufio.NewReaderSize(bytes.NewReader(block), len(block)))
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return errBadResponse
	}
	status, err := cgiStatus(hdr)
	if err != nil {
		return err
	}
	if hdr.Get("Content-Type") == "" && hdr.Get("Location") == "" {
		return errBadResponse // RFC 3875: a document response names its type
	}
	h := c.w.Header()
	for k, vs := range hdr {
		if dropHeader(k) {
			continue
		}
		for _, v := range vs {
			if strings.EqualFold(k, "Set-Cookie") && !cookieInScope(v, c.script) {
				continue
			}
			h.Add(k, v)
		}
	}
	c.started, c.code = true, status
	c.w.WriteHeader(status)
	return nil
}

// cgiStatus reads and removes the Status header: 200 by default, 302 for a
// bare Location. Only final statuses (200-599) are accepted: an
// informational 1xx from a guest would leave the connection half-upgraded
// or expecting a second response.
func cgiStatus(hdr textproto.MIMEHeader) (int, error) {
	s := hdr.Get("Status")
	if s == "" {
		if hdr.Get("Location") != "" {
			return http.StatusFound, nil
		}
		return http.StatusOK, nil
	}
	hdr.Del("Status")
	code, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 || n < 200 || n > 599 {
		return 0, errBadResponse
	}
	return n, nil
}

// dropHeader reports whether a guest's header k (canonical) never reaches
// the client: hop-by-hop headers, the length (the stream's own), and the
// headers that speak for the node rather than the service (Server, Date,
// x-amz-*: request ids and S3 semantics).
func dropHeader(k string) bool {
	for _, d := range [...]string{"Connection", "Transfer-Encoding", "Keep-Alive", "Upgrade", "Proxy-Connection",
		"Te", "Trailer", "Content-Length", "Server", "Date"} {
		if strings.EqualFold(k, d) {
			return true
		}
	}
	return len(k) >= len("x-amz-") && strings.EqualFold(k[:len("x-amz-")], "x-amz-")
}

// cookieInScope reports whether a Set-Cookie value the guest wrote stays
// within the service: no Domain attribute (it would reach other hosts under
// the domain) and a Path, if any, at or under script.
func cookieInScope(v, script string) bool {
	attrs := strings.Split(v, ";")
	for _, a := range attrs[1:] {
		name, val, _ := strings.Cut(strings.TrimSpace(a), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "domain":
			return false
		case "path":
			if !pathInScope(strings.TrimSpace(val), script) {
				return false
			}
		}
	}
	return true
}

// pathInScope reports whether cookie path p lies at or under script ("" is
// the service's own host: any path).
func pathInScope(p, script string) bool {
	if script == "" {
		return true
	}
	if strings.Contains(p, "..") || strings.Contains(p, "%") {
		return false
	}
	return p == script || strings.HasPrefix(p, script+"/")
}
