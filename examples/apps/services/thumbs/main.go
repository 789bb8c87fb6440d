// Command thumbs is a CGI-style service that serves thumbnails of a bucket
// of images, made on demand in the request's own sandbox. Its build is
// examples/services/thumbs/thumbs.wasm (see apps.mk).
//
//	insitu svc create thumbs --app thumbs --public --memory 256MiB \
//	    --in s3://photos/
//	curl 'http://127.0.0.1:8773/svc/thumbs/2024/cat.jpg?w=128&h=128'
//
// GET /svc/thumbs/PATH reads the image /in/PATH (the mounted prefix),
// scales it down to fit a w x h box (default 128x128, each side 1 to 4096;
// aspect kept, never enlarged, Catmull-Rom) and answers it as PNG or JPEG:
// the input's format, or ?format=png|jpeg (&q=1..100 for JPEG, default 85).
// A missing file is 404, a bad size or format 400, a file that is not a PNG
// or JPEG 415, a method other than GET or HEAD 405. The response is CGI on
// stdout: headers, a blank line, the image.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/examples/apps/internal/imageio"
)

// MaxSide bounds each side of the requested box.
const MaxSide = 4096

// request is what a thumbnail request asks for.
type request struct {
	file          string // below /in
	boxW, boxH    int
	format        string // "" (as the input), "png" or "jpeg"
	quality       int
	status, error string // set when the request is refused
}

func bad(status, format string, a ...any) request {
	return request{status: status, error: fmt.Sprintf(format, a...)}
}

// parse reads the CGI meta-variables.
func parse(method, pathInfo, query string) request {
	if method != "GET" && method != "HEAD" && method != "" {
		return bad("405 Method Not Allowed", "thumbs serves GET and HEAD only")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return bad("400 Bad Request", "bad query string: %v", err)
	}
	r := request{boxW: 128, boxH: 128, quality: 85}
	for _, side := range []struct {
		name string
		v    *int
	}{{"w", &r.boxW}, {"h", &r.boxH}} {
		if s := q.Get(side.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > MaxSide {
				return bad("400 Bad Request", "bad %s=%q: want a whole number of pixels from 1 to %d", side.name, s, MaxSide)
			}
			*side.v = n
		}
	}
	if r.format, err = imageio.Format(q.Get("format")); err != nil {
		return bad("400 Bad Request", "%v", err)
	}
	if s := q.Get("q"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return bad("400 Bad Request", "bad q=%q: JPEG quality is 1 to 100", s)
		}
		r.quality = n
	}
	// The sandbox resolves nothing outside /in anyway; refusing ".." here
	// keeps the answers plain.
	p := strings.TrimPrefix(pathInfo, "/")
	if p == "" || strings.HasSuffix(p, "/") {
		return bad("404 Not Found", "name an image: /svc/thumbs/PATH?w=128&h=128")
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." || part == "" {
			return bad("404 Not Found", "no such image")
		}
	}
	r.file = path.Join("/in", p)
	return r
}

// respond writes a plain-text CGI error response.
func respond(status, msg string) {
	fmt.Printf("Status: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\n", status, msg)
}

func main() {
	r := parse(os.Getenv("REQUEST_METHOD"), os.Getenv("PATH_INFO"), os.Getenv("QUERY_STRING"))
	if r.status != "" {
		respond(r.status, r.error)
		return
	}
	if st, err := os.Stat(r.file); err != nil || st.IsDir() {
		respond("404 Not Found", "no such image")
		return
	}
	src, inFormat, err := imageio.Read(r.file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		respond("404 Not Found", "no such image")
		return
	case err != nil:
		// Not a PNG or JPEG, or too many pixels.
		respond("415 Unsupported Media Type", err.Error())
		return
	}
	format := r.format
	if format == "" {
		format = inFormat
	}
	fmt.Printf("Content-Type: image/%s\r\nCache-Control: public, max-age=300\r\n\r\n", format)
	if err := imageio.Write(imageio.Thumbnail(src, r.boxW, r.boxH), format, r.quality); err != nil {
		// The header is out: fail the run, and insitu cuts the response
		// off rather than pass a truncated image off as whole.
		fmt.Fprintln(os.Stderr, "thumbs:", err)
		os.Exit(1)
	}
}
