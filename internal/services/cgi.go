package services

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// cgiEnv builds the RFC 3875 meta-variables of r for a service mounted at
// scriptName, with pathInfo the rest of the path.
func cgiEnv(r *http.Request, scriptName, pathInfo string, svcEnv map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range svcEnv {
		env[k] = v
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	raddr, rport, _ := net.SplitHostPort(r.RemoteAddr)
	set := map[string]string{
		"GATEWAY_INTERFACE": "CGI/1.1",
		"SERVER_SOFTWARE":   "insitu",
		"SERVER_PROTOCOL":   r.Proto,
		"SERVER_NAME":       host,
		"SERVER_PORT":       port,
		"REQUEST_METHOD":    r.Method,
		"REQUEST_URI":       r.URL.RequestURI(),
		"SCRIPT_NAME":       scriptName,
		"PATH_INFO":         pathInfo,
		"QUERY_STRING":      r.URL.RawQuery,
		"REMOTE_ADDR":       raddr,
		"REMOTE_PORT":       rport,
	}
	if r.TLS != nil {
		set["HTTPS"] = "on"
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		set["CONTENT_TYPE"] = ct
	}
	if r.ContentLength >= 0 && (r.ContentLength > 0 || r.Method == http.MethodPost || r.Method == http.MethodPut) {
		set["CONTENT_LENGTH"] = strconv.FormatInt(r.ContentLength, 10)
	}
	for k, vs := range r.Header {
		switch strings.ToLower(k) {
		case "authorization", "proxy-authorization", "content-type", "content-length", "cookie", "proxy":
			// Credentials never reach the guest; type and length have
			// their own variables; "Proxy" would become HTTP_PROXY
			// (httpoxy).
			continue
		}
		name := "HTTP_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		set[name] = strings.Join(vs, ", ")
	}
	for k, v := range set {
		env[k] = v
	}
	return env
}

// maxHeaderBytes bounds the CGI response header a guest may write.
const maxHeaderBytes = 64 << 10

var errBadResponse = errors.New("services: malformed CGI response")

// cgiResponse parses a guest's CGI response on stdout and streams its body
// to w. Nothing reaches the client until the header block is complete and
// valid, so a guest that dies early still gets a clean 502.
type cgiResponse struct {
	w       http.ResponseWriter
	head    bytes.Buffer
	started bool // the HTTP header was sent
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
	c.head.Write(p)
	b := c.head.Bytes()
	end, sep := bytes.Index(b, []byte("\r\n\r\n")), 4
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 && (end < 0 || i < end) {
		end, sep = i, 2
	}
	if end < 0 {
		if c.head.Len() > maxHeaderBytes {
			c.err = errBadResponse
			return 0, c.err
		}
		return len(p), nil
	}
	if err := c.sendHeader(b[:end+sep]); err != nil {
		c.err = err
		return 0, err
	}
	if rest := b[end+sep:]; len(rest) > 0 {
		if _, err := c.w.Write(rest); err != nil {
			return 0, err
		}
	}
	c.head.Reset()
	return len(p), nil
}

// sendHeader interprets the CGI header block and writes the HTTP header.
func (c *cgiResponse) sendHeader(block []byte) error {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(block)))
	hdr, err := tp.ReadMIMEHeader()
	if err != nil && len(hdr) == 0 {
		return errBadResponse
	}
	status := http.StatusOK
	if s := hdr.Get("Status"); s != "" {
		code, _, _ := strings.Cut(strings.TrimSpace(s), " ")
		n, err := strconv.Atoi(code)
		if err != nil || n < 100 || n > 999 {
			return errBadResponse
		}
		status = n
		hdr.Del("Status")
	} else if hdr.Get("Location") != "" {
		status = http.StatusFound
	}
	if hdr.Get("Content-Type") == "" && hdr.Get("Location") == "" {
		return errBadResponse // RFC 3875: a document response names its type
	}
	h := c.w.Header()
	for k, vs := range hdr {
		switch strings.ToLower(k) {
		case "connection", "transfer-encoding", "keep-alive", "upgrade", "content-length":
			continue // hop-by-hop, and length is the stream's
		}
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	c.started, c.code = true, status
	c.w.WriteHeader(status)
	return nil
}
