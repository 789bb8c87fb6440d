package services

import (
	"net"
	"net/http"
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
