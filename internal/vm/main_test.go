package vm

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Helper modes of the test binary, chosen by its first argument:
//   - imdsHelperArg: answer one metadata request on stdin/stdout, as the
//     lifecycle's imds-relay would (slirp runs it per guest connection);
//   - startHelperArg DIR: Start a firmware-only machine in DIR and exit,
//     as an insitu process that dies while its QEMU runs.
const (
	imdsHelperArg  = "-vm-test-imds"
	startHelperArg = "-vm-test-start"
	testInstanceID = "i-0123456789abcdef0"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case imdsHelperArg:
			serveIMDS()
			os.Exit(0)
		case startHelperArg:
			os.Exit(startHelper(os.Args[2]))
		}
	}
	os.Exit(m.Run())
}

// serveIMDS answers one HTTP/1.x request on stdin with the test's
// metadata: a token for PUT /latest/api/token, the instance id, 404
// otherwise. Nothing may go to stderr: slirp makes it the connection.
func serveIMDS() {
	req, err := http.ReadRequest(bufio.NewReader(os.Stdin))
	if err != nil {
		return
	}
	status, body := 404, "not found\n"
	switch {
	case req.Method == http.MethodPut && req.URL.Path == "/latest/api/token":
		status, body = 200, "test-token"
	case req.URL.Path == "/latest/meta-data/instance-id":
		status, body = 200, testInstanceID
	}
	fmt.Fprintf(os.Stdout, "HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}

// startHelper starts a firmware-only machine in dir and returns without
// stopping it (exit status 0 on success).
func startHelper(dir string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := Start(ctx, Spec{Dir: dir, MemoryMiB: 32, VCPUs: 1, Accel: AccelTCG}, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Println(strings.ReplaceAll(err.Error(), "\n", " "))
		return 1
	}
	m.Close()
	return 0
}
