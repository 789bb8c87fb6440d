// Tests for the example services (examples/services/...): each runs under
// wazero as insitu runs a service request, with the CGI meta-variables in
// its environment, the body on stdin, /in mounted read-only and /out a
// fresh directory, and its CGI response on stdout is parsed and checked.
// internal/services/examples_test.go runs the same services on a real node.
package apps_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"
)

// cgiRequest is one service request.
type cgiRequest struct {
	method, path, query string
	body                []byte
	files               map[string][]byte // under /in
	out                 string            // host directory mounted at /out ("" for none)
}

// cgiResponse is a parsed CGI response.
type cgiResponse struct {
	status int
	header textproto.MIMEHeader
	body   []byte
	exit   uint32
	stderr string
}

// serve runs the service module at wasmPath for req and parses its stdout.
func (req cgiRequest) serve(t *testing.T, wasmPath string) cgiResponse {
	t.Helper()
	m := module(t, wasmPath)
	fsys := fstest.MapFS{}
	for name, data := range req.files {
		fsys[name] = &fstest.MapFile{Data: data, Mode: 0o444}
	}
	fs := wazero.NewFSConfig().WithFSMount(fsys, "/in")
	if req.out != "" {
		fs = fs.WithDirMount(req.out, "/out")
	}
	var out, errOut bytes.Buffer
	cfg := wazero.NewModuleConfig().WithName("").WithArgs("service").
		WithStdin(bytes.NewReader(req.body)).WithStdout(&out).WithStderr(&errOut).WithFSConfig(fs).
		WithEnv("GATEWAY_INTERFACE", "CGI/1.1").
		WithEnv("REQUEST_METHOD", req.method).
		WithEnv("PATH_INFO", req.path).
		WithEnv("QUERY_STRING", req.query)
	if req.body != nil {
		cfg = cfg.WithEnv("CONTENT_LENGTH", strconv.Itoa(len(req.body)))
	}
	res := cgiResponse{}
	mod, err := runtime().InstantiateModule(context.Background(), m, cfg)
	var ee *sys.ExitError
	switch {
	case errors.As(err, &ee):
		res.exit = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	if mod != nil {
		mod.Close(context.Background())
	}
	res.stderr = errOut.String()
	if res.exit != 0 {
		return res
	}
	// The CGI response: header lines, a blank line, the body.
	br := bufio.NewReader(&out)
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("%s %s: malformed CGI header: %v (stdout %q)", req.method, req.path, err, out.String())
	}
	res.header, res.status = hdr, 200
	if s := hdr.Get("Status"); s != "" {
		code, _, _ := strings.Cut(s, " ")
		n, err := strconv.Atoi(code)
		if err != nil {
			t.Fatalf("%s %s: bad Status %q", req.method, req.path, s)
		}
		res.status = n
	}
	if hdr.Get("Content-Type") == "" {
		t.Fatalf("%s %s: no Content-Type in %v", req.method, req.path, hdr)
	}
	res.body, _ = io.ReadAll(br)
	return res
}

// ---- thumbs (Go) ----

// thumbsWasm builds examples/apps/services/thumbs for wasip1 once per test
// binary (into the directory TestMain removes).
func thumbsWasm(t *testing.T) string {
	t.Helper()
	goBuildMu.Lock()
	defer goBuildMu.Unlock()
	const name = "services/thumbs"
	if p, ok := goBuilt[name]; ok {
		return p
	}
	if goBuildTo == "" {
		dir, err := os.MkdirTemp("", "insitu-examples-")
		if err != nil {
			t.Fatal(err)
		}
		goBuildTo = dir
	}
	out := filepath.Join(goBuildTo, "thumbs-service.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s", "-o", out, "./"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, msg)
	}
	goBuilt[name] = out
	return out
}

func TestThumbsService(t *testing.T) {
	wasm := thumbsWasm(t)
	files := map[string][]byte{
		"photos/land.png": encode(t, picture(640, 480), "png"),
		"portrait.jpg":    encode(t, picture(300, 600), "jpeg"),
		"small.png":       encode(t, picture(50, 40), "png"),
		"notes.txt":       []byte("not an image"),
	}
	ok := []struct {
		path, query, ctype string
		wantW, wantH       int
	}{
		{"/photos/land.png", "", "png", 128, 96},
		{"/photos/land.png", "w=64&h=64", "png", 64, 48},
		{"/photos/land.png", "w=200", "png", 171, 128}, // h stays 128
		{"/portrait.jpg", "w=128&h=128", "jpeg", 64, 128},
		{"/portrait.jpg", "w=100&h=100&format=png", "png", 50, 100},
		{"/photos/land.png", "h=30&format=jpg&q=50", "jpeg", 40, 30},
		{"/small.png", "w=500&h=500", "png", 50, 40}, // never enlarged
	}
	for _, tt := range ok {
		res := cgiRequest{method: "GET", path: tt.path, query: tt.query, files: files}.serve(t, wasm)
		if res.exit != 0 || res.status != 200 {
			t.Fatalf("%s?%s: exit %d status %d %q %s", tt.path, tt.query, res.exit, res.status, res.body, res.stderr)
		}
		if ct := res.header.Get("Content-Type"); ct != "image/"+tt.ctype {
			t.Errorf("%s?%s: Content-Type %q", tt.path, tt.query, ct)
		}
		img := decode(t, res.body, tt.ctype)
		if b := img.Bounds(); b.Dx() != tt.wantW || b.Dy() != tt.wantH {
			t.Errorf("%s?%s: %dx%d, want %dx%d", tt.path, tt.query, b.Dx(), b.Dy(), tt.wantW, tt.wantH)
		}
	}
	bad := []struct {
		method, path, query string
		status              int
	}{
		{"GET", "/missing.png", "", 404},
		{"GET", "/photos", "", 404}, // a directory
		{"GET", "/photos/", "", 404},
		{"GET", "/", "", 404},
		{"GET", "/photos/../small.png", "", 404},
		{"GET", "/small.png", "w=0", 400},
		{"GET", "/small.png", "w=abc", 400},
		{"GET", "/small.png", "h=-5", 400},
		{"GET", "/small.png", "w=4097", 400},
		{"GET", "/small.png", "format=gif", 400},
		{"GET", "/small.png", "q=101", 400},
		{"GET", "/small.png", "w=%zz", 400},
		{"GET", "/notes.txt", "", 415},
		{"POST", "/small.png", "", 405},
	}
	for _, tt := range bad {
		res := cgiRequest{method: tt.method, path: tt.path, query: tt.query, files: files}.serve(t, wasm)
		if res.exit != 0 || res.status != tt.status || !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") || len(res.body) == 0 {
			t.Errorf("%s %s?%s: exit %d status %d %v %q, want %d", tt.method, tt.path, tt.query, res.exit, res.status, res.header, res.body, tt.status)
		}
	}
	// A decompression bomb is refused before it is decoded.
	res := cgiRequest{method: "GET", path: "/bomb.png", files: map[string][]byte{"bomb.png": bomb(t)}}.serve(t, wasm)
	if res.status != 415 || !strings.Contains(string(res.body), "100000x100000") {
		t.Errorf("bomb: %d %q", res.status, res.body)
	}
}

// ---- notes (C) ----

func TestNotesService(t *testing.T) {
	wasm := appPath(t, "notes")
	state := map[string][]byte{
		"b.json":      []byte(`{"text":"second"}`),
		"a-1_x.json":  []byte(`["first", 1, true, null]`),
		"bad id.json": []byte(`{}`), // not a valid id: not listed
		"readme.txt":  []byte("not a note"),
		"dir/c.json":  []byte(`{}`), // in a subdirectory: not listed
	}
	do := func(req cgiRequest) cgiResponse {
		t.Helper()
		req.files = state
		res := req.serve(t, wasm)
		if res.exit != 0 {
			t.Fatalf("%s %s: exit %d: %s", req.method, req.path, res.exit, res.stderr)
		}
		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type %q", req.method, req.path, ct)
		}
		if !json.Valid(res.body) {
			t.Fatalf("%s %s: body is not JSON: %q", req.method, req.path, res.body)
		}
		return res
	}

	// The list, sorted by id, with sizes.
	for _, p := range []string{"", "/"} {
		res := do(cgiRequest{method: "GET", path: p})
		want := `[{"id":"a-1_x","size":24},{"id":"b","size":17}]` + "\n"
		if res.status != 200 || string(res.body) != want {
			t.Errorf("list %q: %d %q, want %q", p, res.status, res.body, want)
		}
	}
	// An empty /in is an empty list.
	if res := (cgiRequest{method: "GET", path: "/"}).serve(t, wasm); res.status != 200 || string(res.body) != "[]\n" {
		t.Errorf("empty list: %d %q", res.status, res.body)
	}
	// One note, as stored.
	if res := do(cgiRequest{method: "GET", path: "/b"}); res.status != 200 || string(res.body) != `{"text":"second"}` {
		t.Errorf("get b: %d %q", res.status, res.body)
	}
	if res := do(cgiRequest{method: "GET", path: "/nope"}); res.status != 404 {
		t.Errorf("get missing: %d %q", res.status, res.body)
	}

	// PUT writes /out/ID.json: 201 for a new note, 200 for a replaced one.
	out := t.TempDir()
	note := ` {"text": "hello \"world\"\n", "n": [1, -2.5e3, {}], "u": "\u00e9\/"} `
	res := do(cgiRequest{method: "PUT", path: "/new-1", body: []byte(note), out: out})
	if res.status != 201 || string(res.body) != `{"id":"new-1","size":`+strconv.Itoa(len(note))+"}\n" {
		t.Errorf("put new: %d %q", res.status, res.body)
	}
	if b, err := os.ReadFile(filepath.Join(out, "new-1.json")); err != nil || string(b) != note {
		t.Errorf("stored %q %v", b, err)
	}
	out2 := t.TempDir()
	if res := do(cgiRequest{method: "PUT", path: "/b", body: []byte(`"replaced"`), out: out2}); res.status != 200 {
		t.Errorf("put existing: %d %q", res.status, res.body)
	}
	if b, _ := os.ReadFile(filepath.Join(out2, "b.json")); string(b) != `"replaced"` {
		t.Errorf("replaced: %q", b)
	}

	// Refusals write nothing.
	refused := []struct {
		method, path string
		body         string
		status       int
	}{
		{"PUT", "/x", `{"a":}`, 400},
		{"PUT", "/x", `{"a":1} extra`, 400},
		{"PUT", "/x", `[1,2`, 400},
		{"PUT", "/x", `"tab	inside"`, 400},
		{"PUT", "/x", `01`, 400},
		{"PUT", "/x", ``, 400},
		{"PUT", "/x", strings.Repeat("[", 100) + strings.Repeat("]", 100), 400}, // too deep
		{"PUT", "/x", `"` + strings.Repeat("a", 65536) + `"`, 413},
		{"PUT", "/bad.id", `{}`, 400},
		{"PUT", "/a/b", `{}`, 400},
		{"GET", "/..", ``, 400},
		{"GET", "/" + strings.Repeat("a", 65), ``, 400},
		{"DELETE", "/b", ``, 405},
		{"POST", "/b", `{}`, 405},
		{"PUT", "/", `{}`, 405},
	}
	for _, tt := range refused {
		dir := t.TempDir()
		res := do(cgiRequest{method: tt.method, path: tt.path, body: []byte(tt.body), out: dir})
		if res.status != tt.status || !strings.Contains(string(res.body), `"error"`) {
			t.Errorf("%s %s %.20q: %d %q, want %d", tt.method, tt.path, tt.body, res.status, res.body, tt.status)
		}
		if tt.status == 405 && res.header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tt.method, tt.path)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s %s: wrote %v", tt.method, tt.path, ents)
		}
	}
	if res := do(cgiRequest{method: "DELETE", path: "/b"}); !strings.Contains(string(res.body), "cannot be deleted") {
		t.Errorf("DELETE does not say why: %q", res.body)
	}
	// Large but within the 64 KiB limit.
	big := `"` + strings.Repeat("x", 65534) + `"`
	if res := do(cgiRequest{method: "PUT", path: "/big", body: []byte(big), out: t.TempDir()}); res.status != 201 {
		t.Errorf("64 KiB note: %d %q", res.status, res.body)
	}
}
