package services

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// cgiEnv builds the RFC 3875 meta-variables of r for a service mounted at
// scriptName, with pathInfo the rest of the path, over the service's own
// variables svcEnv (a meta-variable wins over a service variable of the
// same name). It fills one map sized up front: it runs on every request.
func cgiEnv(r *http.Request, scriptName, pathInfo string, svcEnv map[string]string) map[string]string {
	env := make(map[string]string, len(svcEnv)+cgiFixedVars+len(r.Header))
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
	env["GATEWAY_INTERFACE"] = "CGI/1.1"
	env["SERVER_SOFTWARE"] = "insitu"
	env["SERVER_PROTOCOL"] = r.Proto
	env["SERVER_NAME"] = host
	env["SERVER_PORT"] = port
	env["REQUEST_METHOD"] = r.Method
	env["REQUEST_URI"] = r.URL.RequestURI()
	env["SCRIPT_NAME"] = scriptName
	env["PATH_INFO"] = pathInfo
	env["QUERY_STRING"] = r.URL.RawQuery
	env["REMOTE_ADDR"] = raddr
	env["REMOTE_PORT"] = rport
	if r.TLS != nil {
		env["HTTPS"] = "on"
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		env["CONTENT_TYPE"] = ct
	}
	if r.ContentLength >= 0 && (r.ContentLength > 0 || r.Method == http.MethodPost || r.Method == http.MethodPut) {
		env["CONTENT_LENGTH"] = strconv.FormatInt(r.ContentLength, 10)
	}
	for k, vs := range r.Header {
		if withheldHeader(k) {
			continue
		}
		env[headerVar(k)] = strings.Join(vs, ", ")
	}
	return env
}

// cgiFixedVars is how many meta-variables cgiEnv may set besides the
// request's headers.
const cgiFixedVars = 15

// withheldHeader reports whether request header k stays out of the
// guest's environment: credentials never reach the guest; type and length
// have their own variables; "Proxy" would become HTTP_PROXY (httpoxy).
func withheldHeader(k string) bool {
	for _, w := range [...]string{"Authorization", "Proxy-Authorization", "Content-Type", "Content-Length", "Cookie", "Proxy"} {
		if strings.EqualFold(k, w) {
			return true
		}
	}
	return false
}

// headerVar is the meta-variable of request header k: HTTP_ and k in
// upper case with '-' as '_', built in one allocation.
func headerVar(k string) string {
	b := make([]byte, 0, len("HTTP_")+len(k))
	b = append(b, "HTTP_"...)
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '-':
			c = '_'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}
