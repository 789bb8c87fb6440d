package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// startInproc serves hello.wasm from a fresh wazero instance per request
// inside this process, the plain way an application embeds wazero: the
// module compiled once, InstantiateModule and Close per request. It has
// none of insitu's guarantees or costs around the guest (no worker
// process to kill a guest that spins, no admission, no run record, no
// metrics) and none of its worker's savings (no instance made ahead, no
// reused memory), so it tells what a fresh instance costs in a server
// done simply, not what a design could reach at best.
func startInproc(ctx context.Context, root string) (target, error) {
	wasm, err := os.ReadFile(filepath.Join(root, "examples", "services", "hello", "hello.wasm"))
	if err != nil {
		return target{}, err
	}
	rt := wazero.NewRuntime(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return target{}, err
	}
	ln, err := listenLoopback()
	if err != nil {
		return target{}, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/svc/hello/", func(w http.ResponseWriter, r *http.Request) {
		var out bytes.Buffer
		cfg := wazero.NewModuleConfig().WithStdout(&out).WithName("").
			WithEnv("REQUEST_METHOD", r.Method).WithEnv("PATH_INFO", r.URL.Path)
		m, err := rt.InstantiateModule(r.Context(), mod, cfg)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		m.Close(r.Context())
		writeCGI(w, &out)
	})
	go http.Serve(ln, mux)
	self := os.Getpid()
	return target{name: "wasm in-process", url: "http://" + ln.Addr().String() + "/svc/hello/",
		pids: func() []int { return []int{self} },
		note: "hello.wasm, wazero InstantiateModule per request in this process: no worker, no kill, no record"}, nil
}

// writeCGI answers with the CGI response a guest wrote to out: its header
// block, then the rest as the body (502 when the header does not parse).
func writeCGI(w http.ResponseWriter, out io.Reader) {
	tp := textproto.NewReader(bufio.NewReader(out))
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	tp.R.WriteTo(w)
}
