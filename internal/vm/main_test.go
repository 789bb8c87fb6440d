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
	case req.URL.Path == "/latest/user-data" && len(os.Args) > 2:
		status, body = 200, userData(os.Args[2])
	}
	fmt.Fprintf(os.Stdout, "HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}

// userData is the tiny guest's test script: it tries the host's
// loopback port (restrict=on must block it) and reports whether
// /root/marker survived from an earlier boot, then makes it.
func userData(port string) string {
	return "#!/bin/sh\n" +
		"if [ -e /root/marker ]; then echo 'marker: found'; else echo 'marker: absent'; echo x >/root/marker; sync; fi\n" +
		"if echo hi | timeout 3 nc -w 2 169.254.0.2 " + port + " >/dev/null 2>&1; then echo 'outbound: reached'; else echo 'outbound: blocked'; fi\n"
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
