package instances

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzIMDSRequest feeds raw requests, as a guest could send them through
// its metadata relay, to one instance's metadata handler. Properties: it
// never panics; it answers only 200, 400, 401, 404 or 405; a 200 body is
// one of the instance's own values or listings (never another instance's:
// the handler holds one instance's); a token is handed out only for a TTL
// of 1 to 21600 s; the live tokens never exceed maxTokens.
func FuzzIMDSRequest(f *testing.F) {
	for _, s := range []string{
		"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n",
		"PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n",
		"PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 0\r\n\r\n",
		"GET /latest/user-data HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token: abc\r\n\r\n",
		"GET /latest/meta-data/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /latest/meta-data/public-keys/0/openssh-key/ HTTP/1.0\r\n\r\n",
		"POST /latest/meta-data/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
	} {
		f.Add([]byte(s))
	}
	info := imdsInfo{ID: "i-0123456789abcdef0", ImageID: "ami-0123456789abcdef0", Type: "t3.nano",
		IP: "127.100.0.7", Zone: "a", PublicKey: "ssh-ed25519 AAAA test", KeyName: "k", UserData: []byte("#!/bin/sh\necho hi\n")}
	now := time.Unix(1_800_000_000, 0)
	h := newIMDSHandler(info, func() time.Time { return now })
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkIMDSAnswer(t, h, req, rec, info)
	})
}

func checkIMDSAnswer(t *testing.T, h *imdsHandler, req *http.Request, rec *httptest.ResponseRecorder, info imdsInfo) {
	switch rec.Code {
	case 200, 400, 401, 404, 405:
	default:
		t.Fatalf("%s %s: status %d", req.Method, req.URL, rec.Code)
	}
	h.mu.Lock()
	n := len(h.tokens)
	h.mu.Unlock()
	if n > maxTokens {
		t.Fatalf("%d live tokens, more than %d", n, maxTokens)
	}
	if rec.Code != 200 {
		return
	}
	body := rec.Body.String()
	if req.URL.Path == "/latest/api/token" {
		ttl, err := strconv.Atoi(req.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		if err != nil || ttl < 1 || ttl > maxTokenTTL || !h.valid(body) {
			t.Fatalf("token %q handed out for ttl %q", body, req.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
		}
		return
	}
	own := []string{info.ID, info.ImageID, info.Type, info.IP, info.Zone, info.PublicKey + "\n", "0=" + info.KeyName,
		"openssh-key", "availability-zone", string(info.UserData)}
	for _, v := range own {
		if body == v {
			return
		}
	}
	if !strings.Contains(body, "\n") && req.Method != http.MethodHead {
		t.Fatalf("%s %s answered %q: none of the instance's values", req.Method, req.URL, body)
	}
}
