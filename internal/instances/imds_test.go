package instances

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// imdsClient speaks HTTP to a unix socket.
func imdsClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

func imdsDo(t *testing.T, c *http.Client, method, path string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://169.254.169.254"+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestIMDS: the metadata of one instance over a real unix socket, IMDSv1
// and IMDSv2 (tokens, their TTL bounds and expiry), 404s.
func TestIMDS(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	info := imdsInfo{ID: "i-0123456789abcdef0", ImageID: "ami-01234567", Type: "t3.nano", IP: "127.100.3.4",
		Zone: "us-east-1a", PublicKey: "ssh-ed25519 AAAA k", KeyName: "k1"}
	sock := filepath.Join(t.TempDir(), "imds.sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil { // a stale file where the socket goes
		t.Fatal(err)
	}
	h := newIMDSHandler(info, clock)
	s, err := listenIMDS(sock, h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := imdsClient(sock)
	for path, want := range map[string]string{
		"/latest/meta-data/instance-id":                 info.ID,
		"/latest/meta-data/ami-id":                      info.ImageID,
		"/latest/meta-data/instance-type":               info.Type,
		"/latest/meta-data/local-ipv4":                  info.IP,
		"/latest/meta-data/public-ipv4":                 info.IP,
		"/latest/meta-data/placement/availability-zone": info.Zone,
		"/latest/meta-data/public-keys/":                "0=k1",
		"/latest/meta-data/public-keys/0/openssh-key":   info.PublicKey + "\n",
	} {
		if code, body, _ := imdsDo(t, c, "GET", path, nil); code != 200 || body != want {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
	if _, body, _ := imdsDo(t, c, "GET", "/latest/meta-data/", nil); !strings.Contains(body, "instance-id\n") || !strings.Contains(body, "public-keys/") {
		t.Errorf("listing %q", body)
	}
	for _, p := range []string{"/latest/user-data", "/latest/meta-data/nothing", "/other"} {
		if code, _, _ := imdsDo(t, c, "GET", p, nil); code != 404 {
			t.Errorf("%s: %d", p, code)
		}
	}
	// IMDSv2.
	for _, ttl := range []string{"", "0", "21601", "x"} {
		if code, _, _ := imdsDo(t, c, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl}); code != 400 {
			t.Errorf("ttl %q: %d", ttl, code)
		}
	}
	if code, _, _ := imdsDo(t, c, "GET", "/latest/api/token", nil); code != 405 {
		t.Errorf("GET token: %d", code)
	}
	code, tok, hdr := imdsDo(t, c, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	if code != 200 || len(tok) < 32 || hdr.Get("X-aws-ec2-metadata-token-ttl-seconds") != "60" {
		t.Fatalf("token: %d %q %v", code, tok, hdr)
	}
	withTok := map[string]string{"X-aws-ec2-metadata-token": tok}
	if code, body, _ := imdsDo(t, c, "GET", "/latest/meta-data/instance-id", withTok); code != 200 || body != info.ID {
		t.Fatalf("with token: %d %q", code, body)
	}
	if code, _, _ := imdsDo(t, c, "GET", "/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": "bogus"}); code != 401 {
		t.Fatalf("bad token: %d", code)
	}
	h.now = func() time.Time { return now.Add(61 * time.Second) } // no request in flight
	if code, _, _ := imdsDo(t, c, "GET", "/latest/meta-data/instance-id", withTok); code != 401 {
		t.Fatalf("expired token: %d", code)
	}
}

// TestIMDSUserData: user data is served as given.
func TestIMDSUserData(t *testing.T) {
	h := newIMDSHandler(imdsInfo{ID: "i-01234567", UserData: []byte("#!/bin/sh\necho hi\n")}, time.Now)
	sock := filepath.Join(t.TempDir(), "s")
	s, err := listenIMDS(sock, h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if code, body, _ := imdsDo(t, imdsClient(sock), "GET", "/latest/user-data", nil); code != 200 || body != "#!/bin/sh\necho hi\n" {
		t.Fatalf("%d %q", code, body)
	}
	if _, body, _ := imdsDo(t, imdsClient(sock), "GET", "/latest/meta-data/", nil); strings.Contains(body, "public-keys") {
		t.Fatalf("listing without a key: %q", body)
	}
}

// TestRelay: a request written to the relay's input, then its end (a
// guest's half-close), reaches the socket's server and the whole answer
// comes out, as slirp's guestfwd uses it; the relay ends when the server
// closes the connection.
func TestRelay(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	s, err := listenIMDS(sock, newIMDSHandler(imdsInfo{ID: "i-89abcdef"}, time.Now), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := Relay(context.Background(), sock, inR, outW)
		outW.CloseWithError(io.EOF)
		done <- err
	}()
	// As busybox nc sends it: the request, then EOF (a half-close).
	go func() {
		_, _ = io.WriteString(inW, "PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n")
		inW.Close()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(outR), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(body) != 48 {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the relay did not end when the server closed")
	}
	if err := Relay(context.Background(), filepath.Join(t.TempDir(), "none"), strings.NewReader(""), io.Discard); err == nil {
		t.Fatal("a relay to no socket succeeded")
	}
}

// TestRelaySlots: a guest cannot pile up relay processes: with every slot
// held the next relay is refused at once, and a slot freed is taken again.
func TestRelaySlots(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	s, err := listenIMDS(sock, newIMDSHandler(imdsInfo{ID: "i-89abcdef"}, time.Now), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	held := make([]*os.File, RelaySlots) // as RelaySlots running relays hold them
	for i := range held {
		if held[i], err = takeSlot(sock); err != nil {
			t.Fatalf("slot %d: %v", i, err)
		}
		defer held[i].Close()
	}
	if err := Relay(context.Background(), sock, strings.NewReader(""), io.Discard); !errors.Is(err, ErrRelayBusy) {
		t.Fatalf("with every slot held, a relay: %v, want ErrRelayBusy", err)
	}
	held[3].Close()
	if err := Relay(context.Background(), sock, strings.NewReader(""), io.Discard); err != nil {
		t.Fatalf("with a slot free again, a relay: %v", err)
	}
}
